import fs from 'node:fs/promises';
import path from 'node:path';
import type { ConfigFile } from '../../config/schema.js';
import { ConfigurationError } from '../errors.js';

/**
 * Which command runs a repository's typecheck or tests: the target's own, never
 * selfscope's toolchain by assumption. Order: configuration, then the package.json
 * script with the package manager its lockfile names, then `tsc --noEmit -p .` for a
 * typecheck where there is a tsconfig.json.
 */

export type CheckKind = 'typecheck' | 'test';
export type PackageManager = 'bun' | 'pnpm' | 'yarn' | 'npm';
export type Runner = 'vitest' | 'jest' | 'node-test' | 'bun-test' | 'tsc' | 'unknown';

export interface CheckCommand {
  argv: string[];
  /** Why this command: shown in results and in selfscope_status. */
  reason: string;
  runner: Runner;
  /** Whether arguments appended to argv reach the runner (so reporter flags can be added). */
  appendable: boolean;
  /** For package scripts: the manager, which needs `--` before runner arguments for npm. */
  packageManager: PackageManager | null;
}

const LOCKFILES: ReadonlyArray<[string, PackageManager]> = [
  ['bun.lock', 'bun'],
  ['bun.lockb', 'bun'],
  ['pnpm-lock.yaml', 'pnpm'],
  ['yarn.lock', 'yarn'],
  ['package-lock.json', 'npm'],
];

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

export async function detectPackageManager(dir: string): Promise<PackageManager> {
  for (const [file, manager] of LOCKFILES) if (await exists(path.join(dir, file))) return manager;
  return 'npm';
}

/** The runner a script invokes, when the script is that one command (so flags can be appended). */
export function runnerOfScript(script: string): { runner: Runner; appendable: boolean } {
  const single = !/&&|\|\||;|\|/.test(script);
  const first = script.trim().replace(/^(npx|pnpm exec|yarn|bunx)\s+/, '');
  const runner: Runner = /^vitest\b/.test(first)
    ? 'vitest'
    : /^jest\b/.test(first)
      ? 'jest'
      : /^node\b.*--test\b/.test(first)
        ? 'node-test'
        : /^bun\s+test\b/.test(first)
          ? 'bun-test'
          : /^tsc\b/.test(first)
            ? 'tsc'
            : 'unknown';
  return { runner, appendable: single && runner !== 'unknown' };
}

function runnerOfArgv(argv: readonly string[]): Runner {
  return runnerOfScript(argv.map((a) => path.basename(a)).join(' ')).runner;
}

export async function selectCommand(worktree: string, kind: CheckKind, checks: ConfigFile['checks']): Promise<CheckCommand> {
  const configured = kind === 'typecheck' ? checks.typecheck : checks.test;
  if (configured) {
    return { argv: [...configured], reason: `checks.${kind} in the configuration`, runner: runnerOfArgv(configured), appendable: true, packageManager: null };
  }
  let scripts: Record<string, string> = {};
  const pkgFile = path.join(worktree, 'package.json');
  if (await exists(pkgFile)) {
    try {
      scripts = (JSON.parse(await fs.readFile(pkgFile, 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
    } catch (error) {
      throw new ConfigurationError('package.json is not valid JSON.', { cause: error, hint: 'Fix package.json, or set checks.typecheck / checks.test in selfscope.config.json.' });
    }
  }
  const script = scripts[kind];
  if (script) {
    const manager = await detectPackageManager(worktree);
    const { runner, appendable } = runnerOfScript(script);
    return {
      argv: [manager, 'run', kind],
      reason: `the "${kind}" script of package.json (${script.slice(0, 120)}), run with ${manager} because of ${manager === 'npm' ? 'no other lockfile' : 'its lockfile'}`,
      runner,
      appendable,
      packageManager: manager,
    };
  }
  if (kind === 'typecheck' && (await exists(path.join(worktree, 'tsconfig.json')))) {
    const localTsc = path.join(worktree, 'node_modules', '.bin', 'tsc');
    return {
      argv: [(await exists(localTsc)) ? localTsc : 'tsc', '--noEmit', '-p', '.'],
      reason: 'no typecheck script; tsconfig.json present, so tsc --noEmit -p .',
      runner: 'tsc',
      appendable: true,
      packageManager: null,
    };
  }
  throw new ConfigurationError(`No ${kind} command for ${worktree}.`, {
    hint:
      kind === 'test'
        ? 'Add a "test" script to package.json, or set checks.test (an argv array) in selfscope.config.json.'
        : 'Add a "typecheck" script to package.json or a tsconfig.json, or set checks.typecheck in selfscope.config.json.',
  });
}

/**
 * Arguments that make a known runner write machine-readable results to `reportFile`,
 * and select a subset (`files`, `namePattern`) where the runner supports it.
 */
export function runnerArguments(command: CheckCommand, reportFile: string, subset: { files?: string[]; namePattern?: string } = {}): { args: string[]; report: 'jest-json' | 'junit' | 'tsc' | null } {
  if (!command.appendable) return { args: [], report: null };
  const files = subset.files ?? [];
  const name = subset.namePattern;
  let args: string[];
  let report: 'jest-json' | 'junit' | 'tsc' | null;
  switch (command.runner) {
    case 'vitest':
      args = ['--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`, ...(name ? ['-t', name] : []), ...files];
      report = 'jest-json';
      break;
    case 'jest':
      args = ['--json', `--outputFile=${reportFile}`, ...(name ? ['-t', name] : []), ...files];
      report = 'jest-json';
      break;
    case 'node-test':
      args = ['--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=junit', `--test-reporter-destination=${reportFile}`, ...(name ? [`--test-name-pattern=${name}`] : []), ...files];
      report = 'junit';
      break;
    case 'bun-test':
      args = ['--reporter=junit', `--reporter-outfile=${reportFile}`, ...(name ? ['-t', name] : []), ...files];
      report = 'junit';
      break;
    case 'tsc':
      args = ['--pretty', 'false'];
      report = 'tsc';
      break;
    default:
      return { args: [], report: null };
  }
  // npm needs `--` before arguments meant for the script; the others pass them through.
  return { args: command.packageManager === 'npm' ? ['--', ...args] : args, report };
}
