#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { isSelfscopeError } from '../core/errors.js';
import { LOG_LEVELS } from '../core/logger.js';
import { VERSION } from '../version.js';
import { registerAnomalyCommands } from './commands/anomalies.js';
import { registerApprovalCommands } from './commands/approve.js';
import { registerConfigCommand } from './commands/config.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerInitCommand } from './commands/init.js';
import { registerQueryCommands } from './commands/query.js';
import { registerServeCommand } from './commands/serve.js';
import { registerSessionCommand } from './commands/session.js';
import { registerStatusCommand } from './commands/status.js';

/** Exit codes: 0 ok, 1 failure, 2 usage error. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('selfscope')
    .description("MCP server that makes a running bot's coding sessions its self-improvement agent.")
    .version(VERSION, '-V, --version')
    .option('--repo <dir>', 'repository root (default: the git top level; the main checkout from a worktree)')
    .option('--config <file>', 'configuration file (default: <repo>/selfscope.config.json)')
    .option('--logs <glob>', 'a log file glob, relative to the repository root (repeat for several)', (glob: string, previous: string[] | undefined) => [...(previous ?? []), glob])
    .option('--state-dir <dir>', 'state directory (default: .selfscope)')
    .addOption(new Option('--log-level <level>', 'diagnostics on stderr from this level').choices([...LOG_LEVELS, 'off']).default('warning'))
    .showHelpAfterError('(run selfscope --help for usage)')
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) })
    .exitOverride();

  registerServeCommand(program);
  registerConfigCommand(program);
  registerStatusCommand(program);
  registerQueryCommands(program);
  registerAnomalyCommands(program);
  registerApprovalCommands(program);
  registerInitCommand(program);
  registerSessionCommand(program);
  registerDemoCommand(program);
  return program;
}

/** Prints a failure for a person: the message and what to do; never a stack unless asked. */
export function reportFailure(error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and version exit 0; everything else commander reports is a usage error.
    return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
  if (isSelfscopeError(error)) {
    process.stderr.write(`selfscope: ${error.message}\n${error.hint ? `What to do: ${error.hint}\n` : ''}`);
    return error.code === 'user_input' ? EXIT_USAGE : EXIT_FAILURE;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`selfscope: ${message}\n`);
  if (process.env['SELFSCOPE_DEBUG'] && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return EXIT_FAILURE;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    process.exitCode = reportFailure(error);
  }
}

await main(process.argv);
