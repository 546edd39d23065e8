import fs from 'node:fs/promises';
import path from 'node:path';
import { sanitizeUntrusted } from '../text/bounded.js';
import type { CheckCommand, PackageManager, Runner, TestRunner } from './select-command.js';
import { parseShellScript, shellQuote, type ShellSegment, type ShellWord } from './shell-words.js';

/**
 * Finds the one call of a known test runner (vitest, jest, node --test, bun test) that a
 * test command makes, through the usual wrappers (npx, cross-env, dotenv, `npm run x`), and
 * plans where the runner's report flags go: appended through the package manager, inserted
 * into an argv, or spliced into the script's runner call (`sh -c`, `"$@"`). A command whose
 * runner cannot be found is planned as unrecordable: it runs, but never counts.
 */

export const RUNNER_NAMES: Record<TestRunner, string> = { vitest: 'vitest', jest: 'jest', 'node-test': 'node --test', 'bun-test': 'bun test' };
const MAX_SCRIPT_DEPTH = 6;

export async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

/** Script text as shown in a reason: bounded, control characters escaped. */
export function shown(text: string, max = 160): string {
  return sanitizeUntrusted(text.replace(/\s+/g, ' ').trim(), max).text;
}

// ---------------------------------------------------------------------------------------
// What a simple command runs: a runner, a package script, or something else.

export type Resolution =
  | { kind: 'runner'; runner: TestRunner | 'tsc'; at: number }
  | { kind: 'script'; manager: PackageManager; name: string; at: number; extra: number }
  | { kind: 'unknown'; command: string };

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
// node options that take their value as the next argument.
const NODE_VALUE_OPTIONS = new Set([
  '-r',
  '--require',
  '--import',
  '--loader',
  '--experimental-loader',
  '-C',
  '--conditions',
  '--test-reporter',
  '--test-reporter-destination',
  '--test-name-pattern',
  '--test-skip-pattern',
  '--test-concurrency',
  '--test-timeout',
  '--test-shard',
  '--env-file',
  '--input-type',
  '--title',
  '--inspect-port',
  '--watch-path',
  '--stack-size',
  '--max-old-space-size',
]);
const NPX_FLAGS = new Set(['-y', '--yes', '--no', '--no-install', '-q', '--quiet', '--prefer-offline', '--offline', '--silent', '-s']);
const PM_QUIET = new Set(['-s', '--silent']);

export function base(word: string): string {
  return path.posix.basename(word.replace(/\\/g, '/'));
}

// node running a runner's own entry point: `node node_modules/.bin/jest`, `node node_modules/vitest/vitest.mjs`.
function runnerEntryPoint(word: string): TestRunner | null {
  const w = word.replace(/\\/g, '/');
  if (/(^|\/)node_modules\/\.bin\/vitest$|(^|\/)node_modules\/vitest\/vitest\.mjs$/.test(w)) return 'vitest';
  if (/(^|\/)node_modules\/\.bin\/jest$|(^|\/)node_modules\/jest\/bin\/jest\.js$/.test(w)) return 'jest';
  return null;
}

export function resolveCommand(words: readonly ShellWord[], scripts: Record<string, string>): Resolution {
  let i = 0;
  // Index of the command word being looked at (a script's manager word, for `at`).
  let commandAt = 0;
  const unknown = (): Resolution => ({ kind: 'unknown', command: words.slice(i, i + 3).map((w) => w.value).join(' ') || '(nothing)' });
  const word = (k: number) => words[k];
  // `<manager> run NAME [--] ARGS…`: ARGS are appended to the script.
  const script = (manager: PackageManager, name: string, nameAt: number): Resolution => {
    let extra = nameAt + 1;
    if (word(extra)?.literal && word(extra)!.value === '--') extra++;
    return { kind: 'script', manager, name, at: commandAt, extra };
  };
  const skipFlags = (flags: ReadonlySet<string>) => {
    while (word(i)?.literal && flags.has(word(i)!.value)) i++;
  };
  // After an exec-like wrapper: the command, which must not look like an option.
  const commandFollows = (): boolean => {
    if (word(i)?.value === '--') i++;
    return word(i) !== undefined && !word(i)!.value.startsWith('-');
  };
  for (let guard = 0; guard < 20; guard++) {
    while (word(i)?.literal && ASSIGNMENT.test(word(i)!.value)) i++;
    const w = word(i);
    commandAt = i;
    if (!w) return { kind: 'unknown', command: '(only variable assignments)' };
    if (!w.literal) return unknown();
    const cmd = base(w.value);
    switch (cmd) {
      case 'env':
        i++;
        if (word(i)?.value.startsWith('-')) return unknown();
        continue;
      case 'cross-env':
        i++;
        continue;
      case 'dotenv':
      case 'dotenv-cli': {
        const sep = words.findIndex((x, k) => k > i && x.literal && x.value === '--');
        if (sep > 0) i = sep + 1;
        else if (word(i + 1) && !word(i + 1)!.value.startsWith('-')) i++;
        else return unknown();
        continue;
      }
      case 'npx':
      case 'pnpx':
      case 'bunx':
        i++;
        skipFlags(NPX_FLAGS);
        if (!commandFollows()) return unknown();
        continue;
      case 'npm': {
        i++;
        skipFlags(PM_QUIET);
        const sub = word(i);
        if (!sub?.literal) return unknown();
        if (sub.value === 'exec' || sub.value === 'x') {
          i++;
          skipFlags(NPX_FLAGS);
          if (!commandFollows()) return unknown();
          continue;
        }
        if (sub.value === 'test' || sub.value === 't' || sub.value === 'tst') return script('npm', 'test', i);
        if (['run', 'run-script', 'rum', 'urn'].includes(sub.value)) {
          let at = i + 1;
          while (word(at)?.literal && PM_QUIET.has(word(at)!.value)) at++;
          const name = word(at);
          if (!name?.literal || name.value.startsWith('-')) return unknown();
          return script('npm', name.value, at);
        }
        return unknown();
      }
      case 'pnpm':
      case 'yarn': {
        const manager: PackageManager = cmd;
        i++;
        skipFlags(PM_QUIET);
        const sub = word(i);
        if (!sub?.literal || sub.value.startsWith('-')) return unknown();
        if (sub.value === 'exec' || sub.value === 'dlx') {
          i++;
          if (!commandFollows()) return unknown();
          continue;
        }
        if (sub.value === 'run' || sub.value === 'run-script') {
          const name = word(i + 1);
          if (!name?.literal || name.value.startsWith('-')) return unknown();
          if (name.value in scripts) return script(manager, name.value, i + 1);
          i++; // `yarn run vitest`: the binary, when no script has that name
          continue;
        }
        if (sub.value === 'test' || sub.value === 't' || sub.value in scripts) return script(manager, sub.value === 't' ? 'test' : sub.value, i);
        continue; // `pnpm vitest`, `yarn jest`: the binary
      }
      case 'bun': {
        const sub = word(i + 1);
        if (!sub?.literal) return unknown();
        if (sub.value === 'test') return { kind: 'runner', runner: 'bun-test', at: i };
        if (sub.value === 'x') {
          i += 2;
          if (!commandFollows()) return unknown();
          continue;
        }
        if (sub.value === 'run') {
          const name = word(i + 2);
          if (!name?.literal || name.value.startsWith('-')) return unknown();
          if (name.value in scripts) return script('bun', name.value, i + 2);
          i += 2;
          continue;
        }
        if (sub.value in scripts) return script('bun', sub.value, i + 1);
        return unknown();
      }
      case 'vitest': {
        const sub = word(i + 1);
        if (sub?.literal && ['bench', 'list', 'init'].includes(sub.value)) return unknown();
        return { kind: 'runner', runner: 'vitest', at: i };
      }
      case 'jest':
        return { kind: 'runner', runner: 'jest', at: i };
      case 'tsc':
        return { kind: 'runner', runner: 'tsc', at: i };
      case 'node':
      case 'nodejs': {
        // `--test` among node's own options (before any script) makes it the test runner.
        for (let k = i + 1; k < words.length; k++) {
          const a = words[k]!;
          if (!a.literal) return unknown();
          if (a.value === '--test') return { kind: 'runner', runner: 'node-test', at: i };
          if (a.value === '--' || !a.value.startsWith('-')) {
            const at = a.value === '--' ? k + 1 : k;
            const entry = runnerEntryPoint(word(at)?.value ?? '');
            return entry ? { kind: 'runner', runner: entry, at } : unknown();
          }
          if (NODE_VALUE_OPTIONS.has(a.value)) k++;
        }
        return unknown();
      }
      default: {
        const entry = runnerEntryPoint(w.value);
        return entry ? { kind: 'runner', runner: entry, at: i } : unknown();
      }
    }
  }
  return unknown();
}

/** Where the runner's own words are, and where selfscope's arguments go among them. */
interface RunnerSite {
  runner: TestRunner;
  /** Index of the word before which the arguments go (words.length: at the end). */
  insertAt: number;
  /** Words of the runner call that must go (node --test's own reporters: they would not pair with ours). */
  drop: number[];
  /** Words left out of a subset run (node --test's own file arguments). */
  dropForSubset: number[];
  /** Whether plain appending (after all the words) puts the arguments in the right place. */
  appendable: boolean;
}

function runnerSite(runner: TestRunner, words: readonly ShellWord[], at: number): RunnerSite {
  if (runner === 'node-test') {
    let testAt = -1;
    let afterSeparator = false;
    const drop: number[] = [];
    const positional: number[] = [];
    for (let k = at + 1; k < words.length; k++) {
      const v = words[k]!.value;
      if (afterSeparator) positional.push(k);
      else if (v === '--') afterSeparator = true;
      else if (v === '--test' && testAt < 0) testAt = k;
      else if (v === '--test-reporter' || v === '--test-reporter-destination') {
        drop.push(k, k + 1);
        k++;
      } else if (v.startsWith('--test-reporter=') || v.startsWith('--test-reporter-destination=')) drop.push(k);
      else if (NODE_VALUE_OPTIONS.has(v)) k++;
      else if ((!v.startsWith('-') || words[k]!.substitutions) && testAt >= 0) positional.push(k);
    }
    return { runner, insertAt: testAt + 1, drop, dropForSubset: positional, appendable: drop.length === 0 && positional.length === 0 && !afterSeparator };
  }
  // vitest, jest, bun test: before the call's own `--` (after it, flags would be file filters)
  // and before a `$(…)` (its output may hold a `--`), else at the end.
  const sep = words.findIndex((w, k) => k > at && w.literal && w.value === '--');
  const substituted = words.findIndex((w, k) => k > at && w.substitutions !== undefined);
  const insertAt = Math.min(sep > 0 ? sep : words.length, substituted > 0 ? substituted : words.length);
  return { runner, insertAt, drop: [], dropForSubset: subsetDrops(runner, words, at), appendable: sep < 0 && substituted < 0 };
}

// Options of each runner that take their value as the next word (the value is not a file).
const VALUE_OPTIONS: Record<Exclude<TestRunner, 'node-test'>, ReadonlySet<string>> = {
  vitest: new Set(['-c', '--config', '-r', '--root', '--dir', '--project', '--environment', '--pool', '--mode', '--shard', '--reporter', '--outputFile', '-t', '--testNamePattern', '--testTimeout', '--hookTimeout', '--maxWorkers', '--minWorkers', '--exclude', '--retry', '--workspace', '--globalSetup', '--inspect-brk', '--browser.name', '--sequence.seed', '--teardownTimeout']),
  jest: new Set(['-c', '--config', '--rootDir', '--roots', '-t', '--testNamePattern', '--testPathPattern', '--testPathPatterns', '--testPathIgnorePatterns', '--testMatch', '--testRegex', '-w', '--maxWorkers', '--selectProjects', '--projects', '--testTimeout', '--outputFile', '--reporters', '--testEnvironment', '--env', '--shard', '--coverageDirectory', '--setupFiles', '--setupFilesAfterEnv', '--seed', '--testSequencer']),
  'bun-test': new Set(['-r', '--preload', '--timeout', '--rerun-each', '-t', '--test-name-pattern', '--reporter', '--reporter-outfile', '--coverage-reporter', '--coverage-dir', '--seed', '--max-concurrency', '--tsconfig-override', '--env-file', '--cwd', '-c', '--config', '--conditions', '-d', '--define', '-l', '--loader', '--path-ignore-patterns', '--retry']),
};
// Options that choose files: a subset names its own files instead.
const FILE_OPTIONS = new Set(['--testPathPattern', '--testPathPatterns', '--findRelatedTests']);

/**
 * Words a files subset leaves out of a vitest, jest or bun test call: its own file
 * arguments (positional words, words after `--`, `$(…)` and other expanded words, which
 * name files), so only the files asked for run; its options and their values stay (config
 * file, preload, environment).
 */
function subsetDrops(runner: Exclude<TestRunner, 'node-test'>, words: readonly ShellWord[], at: number): number[] {
  const values = VALUE_OPTIONS[runner];
  const drops: number[] = [];
  let k = at + 1;
  const sub = words[k];
  if (sub?.literal && ((runner === 'bun-test' && sub.value === 'test') || (runner === 'vitest' && ['run', 'watch', 'dev'].includes(sub.value)))) k++;
  for (; k < words.length; k++) {
    const w = words[k]!;
    if (w.literal && w.value === '--') {
      for (let j = k; j < words.length; j++) drops.push(j);
      break;
    }
    if (w.value.startsWith('-') && !w.substitutions) {
      const takesValue = !w.value.includes('=') && values.has(w.value) && k + 1 < words.length;
      if (FILE_OPTIONS.has(w.value.split('=')[0]!)) drops.push(k, ...(takesValue ? [k + 1] : []));
      if (takesValue) k++;
      continue;
    }
    drops.push(k);
  }
  return drops;
}

/** The runner's call alone (no other command of its script), without its own files, with `"$@"` where the arguments go. */
function runnerAlone(source: string, segment: ShellSegment, site: RunnerSite): string {
  const spliced = spliceRunner(source, segment, site, true);
  return spliced.slice(segment.start, spliced.length - (source.length - segment.end)).trimEnd();
}

// ---------------------------------------------------------------------------------------
// A package script, taken apart through the scripts it runs.

interface Found {
  runner: TestRunner;
  /** The runner's call as written (for reasons). */
  call: string;
}

interface ScriptAnalysis {
  /** Why the script as a whole cannot be judged (null when it can). */
  unclear: string | null;
  /** Runner calls found, at any depth. */
  runners: Found[];
  /** Runner calls of another runner than checks.runner names. */
  mismatched: Found[];
  /** Other commands, and scripts that could not be read (for messages). */
  others: string[];
  /** The script with `"$@"` spliced at the one runner call (when there is exactly one). */
  render?: (subset: boolean) => string;
  /** The runner's call alone for a files subset, without its own files, `"$@"` where the arguments go. */
  alone?: string;
  /** The `$(…)` texts of the script (at any depth), which compute arguments. */
  substitutions?: string[];
  /** A script that is one appendable runner call, reached through single `run x` hops: run it through its manager. */
  direct?: { manager: PackageManager; name: string; extra: string[]; runner: TestRunner };
}

type Edit = { start: number; end: number; insert: string };

function applyEdits(text: string, edits: readonly Edit[]): string {
  let out = text;
  for (const e of [...edits].sort((x, y) => y.start - x.start)) out = out.slice(0, e.start) + e.insert + out.slice(e.end);
  return out;
}

/** The script with `"$@"` where the runner reads selfscope's arguments, and the runner's conflicting words removed. */
function spliceRunner(source: string, segment: ShellSegment, site: RunnerSite, subset: boolean): string {
  const edits: Edit[] = [];
  for (const k of [...site.drop, ...(subset ? site.dropForSubset : [])]) {
    const w = segment.words[k];
    if (w) edits.push({ start: w.start, end: w.end, insert: '' });
  }
  if (site.runner === 'node-test') {
    // Right after `--test`: never inside a word that is removed.
    const at = segment.words[site.insertAt - 1]!.end;
    edits.push({ start: at, end: at, insert: ' "$@"' });
  } else if (site.insertAt < segment.words.length) {
    const at = segment.words[site.insertAt]!.start;
    edits.push({ start: at, end: at, insert: '"$@" ' });
  } else {
    edits.push({ start: segment.end, end: segment.end, insert: ' "$@"' });
  }
  return applyEdits(source, edits);
}

function analyseScript(source: string, scripts: Record<string, string>, wanted: TestRunner | undefined, manager: PackageManager, name: string | null, depth: number): ScriptAnalysis {
  const parsed = parseShellScript(source);
  if (parsed.unclear) return { unclear: parsed.unclear, runners: [], mismatched: [], others: [] };
  const runners: Found[] = [];
  const mismatched: Found[] = [];
  const others: string[] = [];
  let unclear: string | null = null;
  let render: ScriptAnalysis['render'];
  let direct: ScriptAnalysis['direct'];
  let alone: string | undefined;
  const substitutions: string[] = [];
  const single = parsed.segments.length === 1;
  // A `$(…)` is taken apart in turn: it may compute arguments (a file list), never run tests out of sight.
  for (const word of parsed.segments.flatMap((s) => s.words)) {
    for (const text of word.substitutions ?? []) {
      substitutions.push(text);
      const why = (what: string): ScriptAnalysis => ({ unclear: `a command substitution $(${shown(text, 60)}) that ${what}`, runners: [], mismatched: [], others: [] });
      if (depth >= MAX_SCRIPT_DEPTH) return why('is nested too deep');
      const inner = analyseScript(text, scripts, wanted, manager, null, depth + 1);
      if (inner.unclear) return why(`uses ${inner.unclear}`);
      if (inner.runners.length > 0 || inner.mismatched.length > 0) return why(`runs tests (${[...inner.runners, ...inner.mismatched].map((f) => f.call).join('; ')})`);
    }
  }
  for (const segment of parsed.segments) {
    const r = resolveCommand(segment.words, scripts);
    const callText = shown(source.slice(segment.start, segment.end), 80);
    if (r.kind === 'unknown') {
      others.push(callText);
    } else if (r.kind === 'runner') {
      if (r.runner === 'tsc') {
        others.push(callText);
        continue;
      }
      if (wanted && r.runner !== wanted) {
        mismatched.push({ runner: r.runner, call: callText });
        continue;
      }
      runners.push({ runner: r.runner, call: callText });
      const site = runnerSite(r.runner, segment.words, r.at);
      render = (subset) => spliceRunner(source, segment, site, subset);
      alone = runnerAlone(source, segment, site);
      if (single && site.appendable && name !== null) direct = { manager, name, extra: [], runner: r.runner };
    } else {
      if (depth >= MAX_SCRIPT_DEPTH || !(r.name in scripts)) {
        others.push(callText);
        continue;
      }
      // npm appends a script's extra arguments to the text of the script it runs.
      const extraWords = segment.words.slice(r.extra);
      const extraText = extraWords.length ? source.slice(extraWords[0]!.start, segment.end) : '';
      const inner = analyseScript(extraText ? `${scripts[r.name]} ${extraText}` : scripts[r.name]!, scripts, wanted, r.manager, r.name, depth + 1);
      if (inner.unclear) {
        if (single) unclear = `the "${shown(r.name, 60)}" script, which uses ${inner.unclear}`;
        else others.push(`${callText} (its script uses ${inner.unclear})`);
        continue;
      }
      runners.push(...inner.runners);
      mismatched.push(...inner.mismatched);
      substitutions.push(...(inner.substitutions ?? []));
      others.push(...inner.others);
      if (inner.runners.length === 0) continue;
      if (r.at !== 0) {
        unclear = `a package script run behind other words (${callText})`;
        continue;
      }
      alone = inner.alone;
      const innerRender = inner.render;
      if (innerRender) render = (subset) => applyEdits(source, [{ start: segment.start, end: segment.end, insert: `{ ${innerRender(subset)}\n}` }]);
      // The extra arguments are in the inner script's text already; only a direct run of that very script needs them again.
      if (single && inner.direct && inner.direct.name !== r.name) direct = inner.direct;
      else if (single && inner.direct && extraWords.every((w) => w.literal)) direct = { ...inner.direct, extra: extraWords.map((w) => w.value) };
    }
  }
  const one = runners.length === 1;
  return { unclear, runners, mismatched, others, ...(render && one ? { render } : {}), ...(direct && one ? { direct } : {}), ...(alone !== undefined && one ? { alone } : {}), ...(substitutions.length ? { substitutions } : {}) };
}

/** `.bin` directories npm would put on PATH for a script run in `dir`: its own and its ancestors'. */
export async function binDirs(dir: string): Promise<string[]> {
  const out: string[] = [];
  let current = path.resolve(dir);
  for (;;) {
    const bin = path.join(current, 'node_modules', '.bin');
    if (await exists(bin)) out.push(bin);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return out;
}

async function localBin(worktree: string, name: string): Promise<string | null> {
  for (const dir of await binDirs(worktree)) if (await exists(path.join(dir, name))) return path.join(dir, name);
  return null;
}

/** The runner's own command, as a checks.runner without a script runs it (its config found from the worktree). */
export async function runnerCommand(worktree: string, runner: TestRunner): Promise<string[]> {
  switch (runner) {
    case 'vitest':
      return [(await localBin(worktree, 'vitest')) ?? 'vitest', 'run'];
    case 'jest':
      return [(await localBin(worktree, 'jest')) ?? 'jest'];
    case 'node-test':
      return ['node', '--test'];
    case 'bun-test':
      return ['bun', 'test'];
  }
}

function unrecordableHint(): string {
  return 'a person can name the runner in checks.runner ("vitest", "jest", "node-test" or "bun-test") or set checks.test to the runner\'s own command in selfscope.config.json';
}

function unknownRunnerMessage(what: string, others: readonly string[]): string {
  const commands = others.length ? `: none of its commands (${others.slice(0, 5).join('; ')}) is` : ': it is not';
  return `selfscope cannot tell which test runner ${what} runs${commands} vitest, jest, node --test or bun test (looked for also behind npx, cross-env, dotenv and package scripts), so no runner's report can prove that a test ran; ${unrecordableHint()}`;
}

// ---------------------------------------------------------------------------------------

export interface TestSource {
  /** The script text, or null for an argv run without a shell. */
  script: string | null;
  argv: string[];
  shell: string;
  manager: PackageManager | null;
  name: string | null;
  reason: string;
  /** How the manager was chosen, e.g. "npm because of no other lockfile". */
  managerWhy?: string;
}

export async function planTest(worktree: string, source: TestSource, scripts: Record<string, string>, wanted: TestRunner | undefined, hooksNote: string): Promise<CheckCommand> {
  const viaManager = source.managerWhy ? `${source.reason}, run with ${source.managerWhy}` : source.reason;
  const base = { reason: viaManager, packageManager: source.manager };
  const unrecordable = (why: string): CheckCommand => ({
    ...base,
    // Said in the reason too, so selfscope_status shows it before any run.
    reason: `${viaManager}; no run of it can count as a test pass (no report of a known runner)`,
    argv: source.argv,
    runner: 'unknown',
    appendable: false,
    unrecordable: why,
    placement: { kind: 'none' },
  });

  if (source.script === null) {
    // An argv run (checks.test): no shell in between.
    const words: ShellWord[] = source.argv.map((value) => ({ value, start: 0, end: 0, literal: true }));
    const r = resolveCommand(words, scripts);
    if (r.kind === 'runner' && r.runner !== 'tsc' && (!wanted || wanted === r.runner)) {
      const site = runnerSite(r.runner, words, r.at);
      const keep = (from: number, to: number, subset: boolean) => source.argv.slice(from, to).filter((_, k) => !site.drop.includes(k + from) && !(subset && site.dropForSubset.includes(k + from)));
      return {
        ...base,
        argv: keep(0, site.insertAt, false),
        runner: r.runner,
        appendable: true,
        unrecordable: null,
        placement: { kind: 'argv', tail: keep(site.insertAt, words.length, false), tailSubset: keep(site.insertAt, words.length, true) },
        // The call's own files before the insertion point go too when some files are asked for.
        ...(site.dropForSubset.some((k) => k < site.insertAt)
          ? { subset: { argv: keep(0, site.insertAt, true), placement: { kind: 'argv', tail: keep(site.insertAt, words.length, true), tailSubset: keep(site.insertAt, words.length, true) } } }
          : {}),
      };
    }
    if (r.kind === 'script') {
      // `npm run x …` as argv: the same as a one-line script that says so.
      return planTest(worktree, { ...source, script: source.argv.map(shellQuote).join(' '), shell: '/bin/sh' }, scripts, wanted, hooksNote);
    }
    if (r.kind === 'runner' && wanted) return unrecordable(`checks.runner says ${RUNNER_NAMES[wanted]}, but checks.test runs ${r.runner === 'tsc' ? 'tsc' : RUNNER_NAMES[r.runner]}`);
    if (wanted) return { ...base, argv: source.argv, runner: wanted, appendable: true, unrecordable: null, placement: { kind: 'append', npm: false }, subset: { argv: await runnerCommand(worktree, wanted), placement: { kind: 'append', npm: false } } };
    return unrecordable(unknownRunnerMessage(`checks.test (${shown(source.argv.join(' '), 120)})`, []));
  }

  const analysis = analyseScript(source.script, scripts, wanted, source.manager ?? 'npm', source.name, 0);
  const scriptShown = shown(source.script, 120);
  const others = analysis.others.length ? ` (its commands: ${analysis.others.slice(0, 5).join('; ')})` : '';
  if (analysis.unclear) {
    return unrecordable(`the test script (${scriptShown}) uses ${analysis.unclear}, which selfscope does not take apart, so it cannot give a runner its report flags; ${unrecordableHint()}`);
  }
  if (analysis.runners.length > 1) {
    return unrecordable(`the test script (${scriptShown}) runs tests more than once (${analysis.runners.map((f) => f.call).join('; ')}), and one report cannot stand for every run; a person can set checks.test (or checks.runner) in selfscope.config.json to pick one`);
  }
  if (analysis.runners.length === 0 && wanted && analysis.mismatched.length > 0) {
    return unrecordable(`checks.runner says ${RUNNER_NAMES[wanted]}, but the test script (${scriptShown}) runs ${analysis.mismatched.map((f) => `${RUNNER_NAMES[f.runner]} (${f.call})`).join('; ')}; a person can correct checks.runner or checks.test in selfscope.config.json`);
  }
  if (analysis.runners.length === 0) {
    if (wanted && parseShellScript(source.script).segments.length === 1 && source.name !== null && source.manager !== null) {
      // checks.runner names the runner of a one-command script selfscope cannot read: its flags are appended.
      return {
        ...base,
        argv: [source.manager, 'run', source.name],
        reason: `${viaManager}; checks.runner says it runs ${RUNNER_NAMES[wanted]}`,
        runner: wanted,
        appendable: true,
        unrecordable: null,
        placement: { kind: 'append', npm: source.manager === 'npm' },
        // What the script does with files is unknown: a files subset runs the runner itself.
        subset: { argv: await runnerCommand(worktree, wanted), placement: { kind: 'append', npm: false } },
      };
    }
    if (wanted) return unrecordable(`checks.runner says ${RUNNER_NAMES[wanted]}, but no command of the test script (${scriptShown}) is a ${RUNNER_NAMES[wanted]} call selfscope can give its report flags to${others}; a person can set checks.test to that call`);
    return unrecordable(unknownRunnerMessage(`the test script (${scriptShown})`, analysis.others));
  }

  const found = analysis.runners[0]!;
  // What npm would put on PATH, so the script's commands resolve as they do under `npm run`.
  const bins = await binDirs(worktree);
  const prelude = bins.length ? `PATH=${bins.map(shellQuote).join(':')}:"$PATH"; export PATH\n` : '';
  const alone = analysis.alone !== undefined ? prelude + analysis.alone : null;
  // The command that computes the file list decides which tests count, as a runner's config does.
  const listNote = analysis.substitutions?.length
    ? `; its arguments come from ${analysis.substitutions.slice(0, 3).map((t) => `$(${shown(t, 60)})`).join(', ')}, so what that command reads decides which tests count: files a package script names need approval to change; add any others it reads to git.sensitivePaths`
    : '';
  if (analysis.direct) {
    const d = analysis.direct;
    return {
      ...base,
      argv: [d.manager, 'run', d.name, ...(d.extra.length ? (d.manager === 'npm' ? ['--', ...d.extra] : d.extra) : [])],
      reason: `${source.reason}${d.name === source.name ? '' : ` → the "${shown(d.name, 60)}" script (${found.call})`}, run with ${d.manager === source.manager && source.managerWhy ? source.managerWhy : d.manager}; ${RUNNER_NAMES[found.runner]}'s own report decides${listNote}`,
      runner: found.runner,
      appendable: true,
      packageManager: d.manager,
      unrecordable: null,
      // npm's `--` is already there when the script got extra arguments.
      placement: { kind: 'append', npm: d.manager === 'npm' && d.extra.length === 0 },
      ...(alone !== null ? { subset: { argv: ['/bin/sh'], placement: { kind: 'shell', text: alone, subsetText: alone } } } : {}),
    };
  }
  if (!analysis.render) return unrecordable(unknownRunnerMessage(`the test script (${scriptShown})`, analysis.others));
  return {
    ...base,
    argv: [source.shell],
    reason: `${source.reason}, run through ${source.shell} with ${RUNNER_NAMES[found.runner]}'s report flags added to its call (${found.call}): that report decides, not the script's exit status${listNote}${hooksNote}`,
    runner: found.runner,
    appendable: true,
    packageManager: null,
    unrecordable: null,
    placement: { kind: 'shell', text: prelude + analysis.render(false), subsetText: alone ?? prelude + analysis.render(true) },
  };
}
