import type { Command } from 'commander';
import type { GlobalOptions } from '../context.js';

function flatten(value: unknown, prefix: string, out: Record<string, unknown>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out[prefix] = value;
  }
}

// Values that must never be printed even though a person configured them.
const SECRET_KEYS = new Set(['watch.webhookUrl']);

export function registerConfigCommand(program: Command): void {
  program
    .command('config')
    .description('print the resolved configuration and where each value came from')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      // Loaded here: a command loads only its own modules.
      const [{ resolveCliConfig }, { renderTable }] = await Promise.all([import('../context.js'), import('../table.js')]);
      const config = await resolveCliConfig(global);
      const { sources, configFile, stateDirPath, privateDirPath, ...values } = config;
      const flat: Record<string, unknown> = {};
      flatten(values, '', flat);
      for (const key of Object.keys(flat)) if (SECRET_KEYS.has(key) && flat[key] !== undefined) flat[key] = '[set, hidden]';
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ configFile, stateDir: stateDirPath, privateDir: privateDirPath, values: flat, sources }, null, 2)}\n`);
        return;
      }
      process.stdout.write(`configuration file: ${configFile ?? '(none: defaults)'}\nstate directory:    ${stateDirPath}\nprivate directory:  ${privateDirPath}\n\n`);
      const rows = Object.entries(flat).map(([key, value]) => [key, JSON.stringify(value) ?? '', sources[key] ?? 'default']);
      process.stdout.write(`${renderTable(['key', 'value', 'source'], rows, 100)}\n`);
    });
}
