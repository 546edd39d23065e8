import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

const here = path.dirname(fileURLToPath(import.meta.url));
// dist/cli/commands -> package root
const packageRoot = path.resolve(here, '..', '..', '..');

/**
 * The built-in example: the whole loop on a throwaway bot repository, served by the real
 * server over stdio and driven by the real MCP client, each step printed with its time.
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the self-improvement loop on a built-in example bot, step by step (offline, under a minute)')
    .option('--keep', 'keep the example repository instead of deleting it')
    .option('--json', 'print the steps and their results as JSON instead')
    .action(async (options: { keep?: boolean; json?: boolean }) => {
      // Loaded here, not at start-up: every other command starts faster without it.
      const { runDemo } = await import('../demo/run-demo.js');
      const result = await runDemo({ packageRoot, keep: options.keep === true, ...(options.json ? {} : { write: (line: string) => process.stdout.write(line.endsWith('\n') ? line : `${line}\n`) }) });
      if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      if (!result.ok) {
        process.stderr.write(`selfscope demo: ${result.error}\n`);
        process.exitCode = 1;
      }
    });
}
