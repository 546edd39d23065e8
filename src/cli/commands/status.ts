import type { Command } from 'commander';
import { createCliApp, type GlobalOptions } from '../context.js';
import { catchUpLogIndex } from '../progress.js';
import { runToolInProcess } from '../run-tool.js';
import selfscopeStatus from '../../tools/selfscope-status.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('what selfscope sees: repository, configuration, log files, state')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }, command: Command) => {
      const app = await createCliApp(command.optsWithGlobals<GlobalOptions>(), { transport: 'in-process', readOnly: true, toolsets: undefined });
      try {
        await catchUpLogIndex(app, { json: options.json === true });
        const result = await runToolInProcess(app, selfscopeStatus, {});
        process.stdout.write(options.json ? `${JSON.stringify(result.structured, null, 2)}\n` : `${result.text}\n`);
      } finally {
        await app.close();
      }
    });
}
