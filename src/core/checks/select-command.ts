import fs from 'node:fs/promises';
import path from 'node:path';
import type { ConfigFile } from '../../config/schema.js';
import { ConfigurationError, UserInputError } from '../errors.js';
import { sanitizeUntrusted } from '../text/bounded.js';
import { base, exists, planTest, resolveCommand, RUNNER_NAMES, runnerCommand, shown } from './find-runner.js';
import { parseShellScript, shellQuote } from './shell-words.js';

/**
 * Which command runs a repository's typecheck or tests: the target's own, never
 * selfscope's toolchain by assumption. Order: configuration, then the package.json
 * script with the package manager its lockfile names, then `tsc --noEmit -p .` for a
 * typecheck where there is a tsconfig.json.
 *
 * A test run counts only by the structured report of a runner selfscope knows (vitest,
 * jest, node --test, bun test): a script's exit status proves nothing (`vitest run ||
 * true`, `echo ok`). So the test command is taken apart to find the one runner call it
 * makes, through the usual wrappers (npx, cross-env, dotenv, `npm run x`), and the
 * report flags are put where that runner reads them. A command whose runner cannot be
 * found is still run, but is unrecordable: no run of it counts as a pass.
 *
 * A `$(…)` that computes the runner's arguments (`bun test $(bun run list-files)`) is
 * taken apart too: when it runs no tests itself, the runner's own report still decides,
 * and the substitution runs inside the sandbox like the rest of the script.
 *
 * A run of some files (run_tests `files`) runs the runner's call alone, without the
 * script's own file arguments and other commands, so only the files named run.
 */

export type CheckKind = 'typecheck' | 'test';
export type PackageManager = 'bun' | 'pnpm' | 'yarn' | 'npm';
export type TestRunner = 'vitest' | 'jest' | 'node-test' | 'bun-test';
export type Runner = TestRunner | 'tsc' | 'unknown';
export type ReportKind = 'jest-json' | 'junit' | 'tsc';

/**
 * Where the arguments selfscope adds (report flags, subset) go. Data, computed once:
 * - none: nothing is added (the runner is unknown);
 * - append: after the whole argv (npm needs `--` before them);
 * - argv: between `argv` and `tail`, an argv run without a shell (`tailSubset` is the
 *   tail for a subset run: node --test's own file arguments left out);
 * - shell: `sh -c TEXT sh ARGS…`, where TEXT is the script with `"$@"` at the runner's
 *   place (`subsetText`: without node --test's own file arguments).
 */
export type Placement =
  | { kind: 'none' }
  | { kind: 'append'; npm: boolean }
  | { kind: 'argv'; tail: string[]; tailSubset: string[] }
  | { kind: 'shell'; text: string; subsetText: string };

export interface CheckCommand {
  argv: string[];
  /** Why this command: shown in results and in selfscope_status. */
  reason: string;
  runner: Runner;
  /** Whether selfscope's arguments reach the runner (report flags, files, name pattern). */
  appendable: boolean;
  /** For package scripts run through their manager. */
  packageManager: PackageManager | null;
  /** Why no run of this command can count as a passing test run; null when the runner's report decides. */
  unrecordable: string | null;
  placement: Placement;
  /**
   * How a run of some files runs instead, when the whole command would add files of its
   * own (a script's file list, a `$(…)`): the runner's call alone, without them. Absent:
   * as `argv` and `placement` say, with the subset's `tailSubset` / `subsetText`.
   */
  subset?: { argv: string[]; placement: Placement };
}

const LOCKFILES: ReadonlyArray<[string, PackageManager]> = [
  ['bun.lock', 'bun'],
  ['bun.lockb', 'bun'],
  ['pnpm-lock.yaml', 'pnpm'],
  ['yarn.lock', 'yarn'],
  ['package-lock.json', 'npm'],
];

export async function detectPackageManager(dir: string): Promise<PackageManager> {
  for (const [file, manager] of LOCKFILES) if (await exists(path.join(dir, file))) return manager;
  return 'npm';
}

async function readScripts(worktree: string): Promise<{ scripts: Record<string, string>; found: boolean }> {
  const pkgFile = path.join(worktree, 'package.json');
  if (!(await exists(pkgFile))) return { scripts: {}, found: false };
  try {
    const raw = (JSON.parse(await fs.readFile(pkgFile, 'utf8')) as { scripts?: unknown }).scripts;
    const scripts: Record<string, string> = {};
    if (raw && typeof raw === 'object') for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') scripts[k] = v;
    return { scripts, found: true };
  } catch (error) {
    throw new ConfigurationError('package.json is not valid JSON.', { cause: error, hint: 'Fix package.json, or set checks.typecheck / checks.test in selfscope.config.json.' });
  }
}

async function selectTestCommand(worktree: string, checks: ConfigFile['checks']): Promise<CheckCommand> {
  const wanted = checks.runner;
  const { scripts } = await readScripts(worktree);
  if (checks.test) {
    const argv = [...checks.test];
    const shellScript = argv.length === 3 && ['sh', 'bash', 'dash'].includes(base(argv[0]!)) && argv[1] === '-c' ? argv[2]! : null;
    return planTest(worktree, { script: shellScript, argv, shell: argv[0]!, manager: null, name: null, reason: `checks.test in the configuration${shellScript ? ` (${shown(shellScript, 120)})` : ''}` }, scripts, wanted, '');
  }
  const script = scripts['test'];
  if (script) {
    const manager = await detectPackageManager(worktree);
    const hooks = ['pretest', 'posttest'].filter((h) => h in scripts);
    return planTest(
      worktree,
      {
        script,
        argv: [manager, 'run', 'test'],
        shell: '/bin/sh',
        manager,
        name: 'test',
        reason: `the "test" script of package.json (${shown(script, 120)})`,
        managerWhy: `${manager} because of ${manager === 'npm' ? 'no other lockfile' : 'its lockfile'}`,
      },
      scripts,
      wanted,
      hooks.length ? ` (its ${hooks.join(' and ')} script${hooks.length > 1 ? 's are' : ' is'} not run)` : '',
    );
  }
  if (wanted) {
    const argv = await runnerCommand(worktree, wanted);
    return planTest(worktree, { script: null, argv, shell: '/bin/sh', manager: null, name: null, reason: `no "test" script; checks.runner says ${RUNNER_NAMES[wanted]}` }, scripts, wanted, '');
  }
  throw new ConfigurationError(`No test command for ${worktree}.`, {
    hint: 'Add a "test" script to package.json, or set checks.test (an argv array) or checks.runner in selfscope.config.json.',
  });
}

async function selectTypecheckCommand(worktree: string, checks: ConfigFile['checks']): Promise<CheckCommand> {
  const tscPlacement = (words: string[], npm: boolean): Pick<CheckCommand, 'runner' | 'appendable' | 'placement'> => {
    const parsed = parseShellScript(words.join(' '));
    const single = parsed.unclear === null && parsed.segments.length === 1;
    const r = single ? resolveCommand(parsed.segments[0]!.words, {}) : null;
    const tsc = r?.kind === 'runner' && r.runner === 'tsc';
    return { runner: tsc ? 'tsc' : 'unknown', appendable: tsc, placement: tsc ? { kind: 'append', npm } : { kind: 'none' } };
  };
  if (checks.typecheck) {
    const argv = [...checks.typecheck];
    return { argv, reason: 'checks.typecheck in the configuration', packageManager: null, unrecordable: null, ...tscPlacement(argv.map(shellQuote), false) };
  }
  const { scripts } = await readScripts(worktree);
  const script = scripts['typecheck'];
  if (script) {
    const manager = await detectPackageManager(worktree);
    return {
      argv: [manager, 'run', 'typecheck'],
      reason: `the "typecheck" script of package.json (${shown(script, 120)}), run with ${manager} because of ${manager === 'npm' ? 'no other lockfile' : 'its lockfile'}`,
      packageManager: manager,
      unrecordable: null,
      ...tscPlacement([script], manager === 'npm'),
    };
  }
  if (await exists(path.join(worktree, 'tsconfig.json'))) {
    const localTsc = path.join(worktree, 'node_modules', '.bin', 'tsc');
    return {
      argv: [(await exists(localTsc)) ? localTsc : 'tsc', '--noEmit', '-p', '.'],
      reason: 'no typecheck script; tsconfig.json present, so tsc --noEmit -p .',
      runner: 'tsc',
      appendable: true,
      packageManager: null,
      unrecordable: null,
      placement: { kind: 'append', npm: false },
    };
  }
  throw new ConfigurationError(`No typecheck command for ${worktree}.`, {
    hint: 'Add a "typecheck" script to package.json or a tsconfig.json, or set checks.typecheck in selfscope.config.json.',
  });
}

export async function selectCommand(worktree: string, kind: CheckKind, checks: ConfigFile['checks']): Promise<CheckCommand> {
  return kind === 'test' ? selectTestCommand(worktree, checks) : selectTypecheckCommand(worktree, checks);
}

// ---------------------------------------------------------------------------------------
// Subsets: `files` and `name_pattern` of run_tests.

export interface TestSubset {
  files?: string[];
  namePattern?: string;
}

const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Checks `files` and `namePattern` before anything runs: each file a relative path inside
 * the worktree (no `..`, no NUL, not an option, existing, inside by its real path), the
 * pattern free of control characters. Returns the files as worktree-relative POSIX paths.
 */
export async function checkSubset(worktree: string, command: CheckCommand, subset: TestSubset): Promise<TestSubset> {
  const files = subset.files ?? [];
  const out: TestSubset = {};
  if ((files.length > 0 || subset.namePattern !== undefined) && command.placement.kind === 'none') {
    throw new UserInputError('This test command cannot run a subset: selfscope does not know its runner, so it cannot pass it files or a name pattern.', {
      hint: 'Run without files and name_pattern, or have a person set checks.runner or checks.test in selfscope.config.json.',
    });
  }
  if (files.length > 0) {
    const root = await fs.realpath(worktree);
    out.files = [];
    for (const [index, file] of files.entries()) {
      const refuse = (why: string): never => {
        throw new UserInputError(`files[${index}] is refused: ${why}.`, {
          hint: 'Give test files or directories as relative paths inside the worktree, e.g. "test/queue.test.ts".',
          details: { file: sanitizeUntrusted(file, 300).text },
        });
      };
      if (file.length === 0) refuse('it is empty');
      if (file.includes('\0') || CONTROL.test(file)) refuse('it contains control characters');
      if (file.startsWith('-')) refuse('it starts with "-" and would be read as an option');
      if (path.isAbsolute(file) || path.win32.isAbsolute(file) || file.startsWith('~')) refuse('it is not a relative path');
      if (file.split(/[\\/]/).includes('..')) refuse('it contains ".."');
      let real: string;
      try {
        real = await fs.realpath(path.join(root, file));
      } catch {
        return refuse('no such file or directory in the worktree');
      }
      const rel = path.relative(root, real);
      if (rel.startsWith('..') || path.isAbsolute(rel)) refuse('it leads outside the worktree');
      const normal = path.posix.normalize(file.replace(/\\/g, '/')).replace(/\/+$/, '') || '.';
      out.files.push(normal);
    }
  }
  if (subset.namePattern !== undefined) {
    if (subset.namePattern.length === 0) throw new UserInputError('name_pattern is empty.', { hint: 'Give a part of a test name, or omit name_pattern.' });
    if (CONTROL.test(subset.namePattern)) throw new UserInputError('name_pattern contains control characters.', { hint: 'Give a test name pattern on one line.' });
    out.namePattern = subset.namePattern;
  }
  return out;
}

/** A file named in a runner's report, as a subset entry for a rerun; null when it is not a safe one. */
export async function subsetFileFromReport(worktree: string, file: string): Promise<string | null> {
  const root = await fs.realpath(worktree).catch(() => null);
  if (!root) return null;
  const rel = path.isAbsolute(file) ? path.relative(root, file) : file;
  try {
    const checked = await checkSubset(worktree, { placement: { kind: 'append', npm: false } } as CheckCommand, { files: [rel] });
    return checked.files?.[0] ?? null;
  } catch {
    return null;
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The arguments that make `runner` write its report to `reportFile` and select the subset. */
function reportArguments(runner: Runner, reportFile: string, subset: TestSubset): { args: string[]; report: ReportKind | null } {
  const files = subset.files ?? [];
  const name = subset.namePattern;
  switch (runner) {
    case 'vitest':
      // vitest ignores what follows `--`; its file filters are positional, and none starts with "-".
      return { args: ['--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`, ...(name !== undefined ? [`--testNamePattern=${name}`] : []), ...files], report: 'jest-json' };
    case 'jest':
      // jest reads path arguments as regular expressions.
      return { args: ['--json', `--outputFile=${reportFile}`, ...(name !== undefined ? [`--testNamePattern=${name}`] : []), ...(files.length ? ['--', ...files.map(escapeRegex)] : [])], report: 'jest-json' };
    case 'node-test':
      // Reporter flags before any file: node 20 reads whatever follows a file as more files.
      return {
        args: ['--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=junit', `--test-reporter-destination=${reportFile}`, ...(name !== undefined ? [`--test-name-pattern=${name}`] : []), ...files],
        report: 'junit',
      };
    case 'bun-test':
      // `./` makes bun take a path as a path, not as a name filter.
      return { args: ['--reporter=junit', `--reporter-outfile=${reportFile}`, ...(name !== undefined ? [`--test-name-pattern=${name}`] : []), ...(files.length ? ['--', ...files.map((f) => `./${f}`)] : [])], report: 'junit' };
    case 'tsc':
      return { args: ['--pretty', 'false'], report: 'tsc' };
    default:
      return { args: [], report: null };
  }
}

/**
 * The arguments appended to `command.argv` for one run: the runner's report flags (into
 * `reportFile`) and the subset, each where that runner reads it. `subset` must have been
 * checked with `checkSubset`.
 */
export function runnerArguments(command: CheckCommand, reportFile: string, subset: TestSubset = {}): { args: string[]; report: ReportKind | null } {
  return placementArguments(command.runner, command.placement, reportFile, subset);
}

/**
 * The whole argv of one run: `command.argv` with `runnerArguments`, or for a files subset
 * the runner's call alone (`command.subset`) when the whole command would add files of its own.
 */
export function runArgv(command: CheckCommand, reportFile: string, subset: TestSubset = {}): { argv: string[]; report: ReportKind | null } {
  const alone = (subset.files?.length ?? 0) > 0 ? command.subset : undefined;
  const { args, report } = alone ? placementArguments(command.runner, alone.placement, reportFile, subset) : runnerArguments(command, reportFile, subset);
  return { argv: [...(alone ? alone.argv : command.argv), ...args], report };
}

function placementArguments(runner: Runner, p: Placement, reportFile: string, subset: TestSubset): { args: string[]; report: ReportKind | null } {
  const { args, report } = reportArguments(runner, reportFile, subset);
  const isSubset = (subset.files?.length ?? 0) > 0;
  switch (p.kind) {
    case 'none':
      return { args: [], report: null };
    case 'append':
      return { args: p.npm ? ['--', ...args] : args, report };
    case 'argv':
      return { args: [...args, ...(isSubset ? p.tailSubset : p.tail)], report };
    case 'shell':
      return { args: ['-c', isSubset ? p.subsetText : p.text, 'sh', ...args], report };
  }
}
