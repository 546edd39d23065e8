import type { Command } from 'commander';
import type { GlobalOptions } from '../context.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('what selfscope sees: repository, configuration, log files, state')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }, command: Command) => {
      // Loaded here: a command loads only its own modules.
      const [{ createCliApp }, { catchUpLogIndex }, { runToolInProcess }, { default: selfscopeStatus }] = await Promise.all([
        import('../context.js'),
        import('../progress.js'),
        import('../run-tool.js'),
        import('../../tools/selfscope-status.js'),
      ]);
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
