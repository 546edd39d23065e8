import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configFileSchema, DEFAULT_SENSITIVE_PATHS } from '../../../src/config/schema.js';
import { judgeTestRun, parseJestJson, parseJunit, readTestReport } from '../../../src/core/checks/parse-results.js';
import { checkSubset, runArgv, runnerArguments, selectCommand, type CheckCommand } from '../../../src/core/checks/select-command.js';
import { parseShellScript } from '../../../src/core/checks/shell-words.js';
import { UserInputError } from '../../../src/core/errors.js';
import { sensitivePaths } from '../../../src/core/policy/policy.js';

/** The test-runner adapters: which runner a command runs, the exact argv, the subset rules, the report rules. */

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function tempDir(files: Record<string, string> = {}): Promise<string> {
  const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-runners-')));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), content);
  }
  return dir;
}

async function select(scripts: Record<string, string>, checks: Record<string, unknown> = {}, files: Record<string, string> = {}): Promise<{ command: CheckCommand; dir: string }> {
  const dir = await tempDir({ 'package.json': JSON.stringify({ scripts }), ...files });
  const command = await selectCommand(dir, 'test', configFileSchema.parse({ checks }).checks);
  return { command, dir };
}

function argvOf(command: CheckCommand, subset: { files?: string[]; namePattern?: string } = {}): string[] {
  return [...command.argv, ...runnerArguments(command, '/r/report', subset).args];
}

const VITEST_FLAGS = ['--reporter=default', '--reporter=json', '--outputFile.json=/r/report'];
const NODE_FLAGS = ['--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=junit', '--test-reporter-destination=/r/report'];

describe('shell scripts, taken apart', () => {
  it('splits simple commands at operators and knows where each word is', () => {
    const p = parseShellScript(`tsc -p . && FOO='a b' vitest run "x y" 2>&1 | tee out.log; echo done # note`);
    expect(p.unclear).toBeNull();
    expect(p.operators).toEqual(['&&', '|', ';']);
    expect(p.segments.map((s) => s.words.map((w) => w.value))).toEqual([['tsc', '-p', '.'], ['FOO=a b', 'vitest', 'run', 'x y'], ['tee', 'out.log'], ['echo', 'done']]);
    const text = `tsc -p . && FOO='a b' vitest run "x y" 2>&1 | tee out.log; echo done # note`;
    const seg = p.segments[1]!;
    expect(text.slice(seg.start, seg.end)).toBe(`FOO='a b' vitest run "x y" 2>&1`);
  });

  it.each([
    ['vitest run $((1 + 2))', /arithmetic expansion/],
    ['vitest run $(cat list', /unterminated \$\(/],
    ['vitest run `cat list`', /command substitution with backquotes/],
    ['for f in a b; do vitest run $f; done', /keyword for/],
    ['(cd sub && vitest run)', /subshell/],
    ['vitest run &', /background/],
    ['vitest run <<EOF', /here-document/],
    ["vitest run 'unterminated", /unterminated quote/],
    ['vitest run &&', /without a command/],
  ])('does not take apart %s', (script, why) => {
    expect(parseShellScript(script).unclear).toMatch(why);
  });

  it('keeps a $(…) in its word, with its text, quotes and parentheses inside it', () => {
    const p = parseShellScript(`bun test $(bun run --silent "list (all)") --x "a $(echo ')') b"`);
    expect(p.unclear).toBeNull();
    const words = p.segments[0]!.words;
    expect(words.map((w) => w.substitutions ?? null)).toEqual([null, null, ['bun run --silent "list (all)"'], null, ["echo ')'"]]);
    expect(words.map((w) => w.literal)).toEqual([true, true, false, true, false]);
  });

  it('marks words the shell would expand as not literal', () => {
    const words = parseShellScript('node --test test/*.test.mjs $EXTRA "$HOME" plain').segments[0]!.words;
    expect(words.map((w) => w.literal)).toEqual([true, true, false, false, false, true]);
  });
});

describe('which runner a test command runs, and the exact argv', () => {
  it('appends the report flags to a plain runner script through npm, after "--"', async () => {
    const { command } = await select({ test: 'vitest run' });
    expect(command.runner).toBe('vitest');
    expect(command.unrecordable).toBeNull();
    expect(argvOf(command)).toEqual(['npm', 'run', 'test', '--', ...VITEST_FLAGS]);
  });

  it('uses the lockfile manager, without npm\'s "--" (bun)', async () => {
    const { command } = await select({ test: 'bun test' }, {}, { 'bun.lock': '' });
    expect(argvOf(command)).toEqual(['bun', 'run', 'test', '--reporter=junit', '--reporter-outfile=/r/report']);
  });

  it('finds the runner behind npx, cross-env, dotenv and bunx', async () => {
    for (const [script, runner] of [
      ['npx --yes jest --ci', 'jest'],
      ['cross-env NODE_ENV=test vitest run', 'vitest'],
      ['dotenv -e .env.test -- jest', 'jest'],
      ['bunx vitest', 'vitest'],
      ['NODE_OPTIONS=--max-old-space-size=4096 node --import tsx --test', 'node-test'],
      ['node node_modules/.bin/jest --runInBand', 'jest'],
    ] as const) {
      const { command } = await select({ test: script });
      expect([script, command.runner, command.placement.kind]).toEqual([script, runner, 'append']);
    }
  });

  it('follows `npm run x -- args` to the script that runs the runner, with its arguments', async () => {
    const { command } = await select({ test: 'npm run a -- --x', a: 'npm run b -- --y', b: 'vitest run' });
    expect(argvOf(command)).toEqual(['npm', 'run', 'b', '--', '--y', '--x', ...VITEST_FLAGS]);
    expect(command.reason).toMatch(/"b" script/);
  });

  it('splices the flags into the runner call of a compound script, so `|| true` cannot hide a failure', async () => {
    const { command } = await select({ test: 'tsc && vitest run || true' });
    expect(command.runner).toBe('vitest');
    expect(command.argv).toEqual(['/bin/sh']);
    expect(runnerArguments(command, '/r/report').args).toEqual(['-c', 'tsc && vitest run "$@" || true', 'sh', ...VITEST_FLAGS]);
    expect(command.reason).toMatch(/not the script's exit status/);
  });

  it('keeps the build steps of a compound script and expands the script that runs the tests', async () => {
    const { command } = await select({ test: 'npm run build && npm run unit', build: 'tsc', unit: 'vitest run' });
    expect(runnerArguments(command, '/r/report').args.slice(0, 2)).toEqual(['-c', 'npm run build && { vitest run "$@"\n}']);
  });

  it('puts node --test reporter flags before its file arguments (node 20 reads what follows a file as files), and drops its own reporters', async () => {
    const { command } = await select({ test: 'node --test --test-reporter=dot test/ --test-concurrency=1' });
    const args = runnerArguments(command, '/r/report').args;
    expect(args.slice(0, 2)).toEqual(['-c', 'node --test "$@"  test/ --test-concurrency=1']);
    expect(args.slice(3)).toEqual(NODE_FLAGS);
    // A subset leaves the script's own directory out: only the files asked for run.
    const subset = runnerArguments(command, '/r/report', { files: ['test/a.test.mjs'] }).args;
    expect(subset[1]).toBe('node --test "$@"   --test-concurrency=1');
    expect(subset.slice(3)).toEqual([...NODE_FLAGS, 'test/a.test.mjs']);
  });

  it('inserts the flags into a configured argv where the runner reads them', async () => {
    const { command } = await select({}, { test: ['node', '--test', 'test/'] });
    expect(argvOf(command)).toEqual(['node', '--test', ...NODE_FLAGS, 'test/']);
    expect(argvOf(command, { files: ['test/a.test.mjs'] })).toEqual(['node', '--test', ...NODE_FLAGS, 'test/a.test.mjs']);
    const vitest = (await select({}, { test: ['npx', 'vitest', 'run', '--', 'unit'] })).command;
    expect(argvOf(vitest)).toEqual(['npx', 'vitest', 'run', ...VITEST_FLAGS, '--', 'unit']);
  });

  it.each([
    ['echo ok', /cannot tell which test runner.*echo ok/],
    ['exit 0', /cannot tell which test runner.*exit 0/],
    ['node scripts/run.js --test', /cannot tell which test runner/],
    ['vitest run a && vitest run b', /runs tests more than once/],
    ['vitest run `cat list`', /backquotes/],
    ['bun test $(vitest run --reporter=json)', /command substitution \$\(vitest run --reporter=json\) that runs tests/],
    ['bun test $(npm run files)', /command substitution \$\(npm run files\) that runs tests/],
    ['bun test $(for f in a; do echo $f; done)', /command substitution .* that uses the shell keyword for/],
    ['for f in a b; do vitest run $f; done', /keyword for/],
  ])('makes `%s` unrecordable, saying why and what a person can do', async (script, why) => {
    const { command } = await select({ test: script, files: 'vitest run' });
    expect(command.unrecordable).toMatch(why);
    expect(command.unrecordable).toMatch(/checks\.(runner|test)/);
    expect(command.placement).toEqual({ kind: 'none' });
    // It still runs, as written, so the agent sees its output.
    expect(argvOf(command)).toEqual(['npm', 'run', 'test']);
  });

  it('takes the runner from checks.runner for a script it cannot read, and refuses a runner that does not match', async () => {
    const wrapped = (await select({ test: './scripts/test.sh' }, { runner: 'vitest' })).command;
    expect(wrapped.unrecordable).toBeNull();
    expect(argvOf(wrapped)).toEqual(['npm', 'run', 'test', '--', ...VITEST_FLAGS]);
    const mismatch = (await select({ test: 'vitest run' }, { runner: 'jest' })).command;
    expect(mismatch.unrecordable).toMatch(/checks\.runner says jest/);
    const noScript = (await select({}, { runner: 'node-test' })).command;
    expect(argvOf(noScript)).toEqual(['node', '--test', ...NODE_FLAGS]);
  });
});

describe('a script that computes its file list with $(…)', () => {
  it('puts the report flags before the substitution, whose output may hold a "--"', async () => {
    const { command } = await select({ test: 'bun test $(bun run --silent test:files)', 'test:files': 'bun scripts/list.ts' });
    expect(command.unrecordable).toBeNull();
    expect(command.runner).toBe('bun-test');
    const args = runnerArguments(command, '/r/report').args;
    expect(args.slice(0, 2)).toEqual(['-c', 'bun test "$@" $(bun run --silent test:files)']);
    expect(args.slice(3)).toEqual(['--reporter=junit', '--reporter-outfile=/r/report']);
    // What computes the list decides which tests count: said where selfscope_status shows it.
    expect(command.reason).toMatch(/\$\(bun run --silent test:files\), so what that command reads decides which tests count: files a package script names need approval to change/);
  });

  it('runs a files subset as the runner call alone: no list, no other command', async () => {
    const { command } = await select({ test: 'tsc -p . && vitest run $(node list.mjs) --config vitest.unit.ts' });
    const argv = runArgv(command, '/r/report', { files: ['test/a.test.js'] }).argv;
    expect(argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(argv[2]!.split('\n').at(-1)).toBe('vitest run "$@"  --config vitest.unit.ts');
    expect(argv.slice(3)).toEqual(['sh', ...VITEST_FLAGS, 'test/a.test.js']);
    // A name pattern alone keeps the script and its list: the tests named, among the suite's files.
    expect(runArgv(command, '/r/report', { namePattern: 'x' }).argv[2]).toMatch(/tsc -p \. && vitest run "\$@" \$\(node list\.mjs\)/);
  });
});

describe('files and name_pattern', () => {
  it('leaves out the script\'s own files, and keeps its options and their values', async () => {
    const { command } = await select({ test: 'vitest run src --config vitest.unit.ts -t unit' });
    // The whole suite still runs through npm, as the script says.
    expect(argvOf(command)).toEqual(['npm', 'run', 'test', '--', ...VITEST_FLAGS]);
    const argv = runArgv(command, '/r/report', { files: ['test/a.test.js'] }).argv;
    expect(argv[2]!.split('\n').at(-1)).toBe('vitest run  --config vitest.unit.ts -t unit "$@"');
    expect(argv.at(-1)).toBe('test/a.test.js');
    const jest = (await select({}, { test: ['jest', '--testPathPattern', 'unit', '-c', 'jest.config.js', 'test/'] })).command;
    expect(runArgv(jest, '/r/report', { files: ['test/a.test.js'] }).argv).toEqual(['jest', '-c', 'jest.config.js', '--json', '--outputFile=/r/report', '--', 'test/a\\.test\\.js']);
    const bun = (await select({ test: 'bun test --preload ./setup.ts ./tests -- ./more' }, {}, { 'bun.lock': '' })).command;
    expect(runArgv(bun, '/r/report', { files: ['a.test.ts'] }).argv[2]!.split('\n').at(-1)).toBe('bun test --preload ./setup.ts  "$@"');
  });

  it('runs the runner itself for a files subset of a script it cannot read (checks.runner)', async () => {
    const { command } = await select({ test: './scripts/test.sh' }, { runner: 'bun-test' });
    expect(runArgv(command, '/r/report', { files: ['a.test.ts'] }).argv).toEqual(['bun', 'test', '--reporter=junit', '--reporter-outfile=/r/report', '--', './a.test.ts']);
    expect(runArgv(command, '/r/report', { namePattern: 'x' }).argv).toEqual(['npm', 'run', 'test', '--', '--reporter=junit', '--reporter-outfile=/r/report', '--test-name-pattern=x']);
  });

  it('passes the name pattern as the value of its flag, so it is never read as an option', async () => {
    const subset = { namePattern: '--config=evil.ts' };
    expect(argvOf((await select({ test: 'vitest run' })).command, subset).at(-1)).toBe('--testNamePattern=--config=evil.ts');
    expect(argvOf((await select({ test: 'jest' })).command, subset).at(-1)).toBe('--testNamePattern=--config=evil.ts');
    expect(argvOf((await select({ test: 'node --test' })).command, subset).at(-1)).toBe('--test-name-pattern=--config=evil.ts');
    expect(argvOf((await select({ test: 'bun test' })).command, subset).at(-1)).toBe('--test-name-pattern=--config=evil.ts');
  });

  it('puts files where each runner takes them as files: after "--" for jest and bun, positional after "="-form flags for vitest and node', async () => {
    const files = { files: ['test/a.test.js'] };
    expect(argvOf((await select({ test: 'vitest run' })).command, files).slice(-2)).toEqual(['--outputFile.json=/r/report', 'test/a.test.js']);
    expect(argvOf((await select({ test: 'jest' })).command, files).slice(-2)).toEqual(['--', 'test/a\\.test\\.js']);
    expect(argvOf((await select({ test: 'bun test' })).command, files).slice(-2)).toEqual(['--', './test/a.test.js']);
    expect(argvOf((await select({ test: 'node --test' })).command, files).slice(-2)).toEqual(['--test-reporter-destination=/r/report', 'test/a.test.js']);
  });

  it('refuses files that are options, outside the worktree, absolute, missing or with NUL, and says which', async () => {
    const outside = await tempDir({ 'outside.test.ts': '' });
    const { command, dir } = await select({ test: 'vitest run' }, {}, { 'test/a.test.js': '' });
    await fs.symlink(outside, path.join(dir, 'escape'));
    for (const [file, why] of [
      ['--reporter=dot', /read as an option/],
      ['-t', /read as an option/],
      ['../outside.test.ts', /"\.\."/],
      ['test/../../x', /"\.\."/],
      ['/etc/passwd', /not a relative path/],
      ['test/a.test.js\0--config=x', /control characters/],
      ['test/missing.test.js', /no such file/],
      ['escape/outside.test.ts', /outside the worktree/],
      ['', /empty/],
    ] as const) {
      const error = await checkSubset(dir, command, { files: ['test/a.test.js', file] }).catch((e: unknown) => e);
      expect(error, file).toBeInstanceOf(UserInputError);
      expect((error as Error).message).toMatch(/^files\[1\] is refused/);
      expect((error as Error).message).toMatch(why);
    }
    expect(await checkSubset(dir, command, { files: ['./test/a.test.js', 'test/'] })).toEqual({ files: ['test/a.test.js', 'test'] });
  });

  it('refuses a name pattern with control characters, and any subset of a command whose runner is unknown', async () => {
    const { command, dir } = await select({ test: 'vitest run' });
    await expect(checkSubset(dir, command, { namePattern: 'a\nb' })).rejects.toThrow(/control characters/);
    const unknown = await select({ test: 'echo ok' }, {}, { 'a.test.js': '' });
    await expect(checkSubset(unknown.dir, unknown.command, { files: ['a.test.js'] })).rejects.toThrow(/cannot run a subset/);
  });
});

describe('reports', () => {
  const jest = (extra: Record<string, unknown>) => JSON.stringify({ numTotalTests: 1, numPassedTests: 1, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0, testResults: [], ...extra });

  it('rejects what is not a report', () => {
    expect(parseJestJson('ok')).toBeNull();
    expect(parseJestJson('{}')).toBeNull();
    expect(parseJestJson('[]')).toBeNull();
    expect(parseJestJson(jest({ numPassedTests: '5' }))).toBeNull();
    expect(parseJunit('ok')).toBeNull();
    expect(parseJunit('<html><testsuites/></html>')).toBeNull();
  });

  it('counts a suite that failed outside any test, and a run the runner calls unsuccessful, as failures', () => {
    expect(parseJestJson(jest({ numFailedTestSuites: 1 }))?.counts.failed).toBe(1);
    expect(parseJestJson(jest({ success: false }))?.counts.failed).toBe(1);
    expect(parseJestJson(jest({ testResults: [{ name: '/w/a.test.js', status: 'failed', message: '', assertionResults: [] }] }))?.failures[0]?.name).toBe('(file failed to run)');
  });

  it('counts a failing todo as skipped (as node does), and failures node counted outside any test case', () => {
    const todo = `<testsuites><testcase name="t"><skipped type="todo"/><failure message="x"/></testcase><testcase name="p"/></testsuites>`;
    expect(parseJunit(todo)?.counts).toEqual({ passed: 1, failed: 0, skipped: 1, total: 2 });
    const hook = `<testsuites><testcase name="p"/>\n<!-- tests 1 -->\n<!-- fail 1 -->\n<!-- cancelled 0 --></testsuites>`;
    expect(parseJunit(hook)?.counts.failed).toBe(1);
  });

  it('reads only a regular file: not a missing one, a link, a directory or garbage', async () => {
    const dir = await tempDir({ 'good.json': jest({}), 'bad.json': 'PASS' });
    await fs.symlink(path.join(dir, 'good.json'), path.join(dir, 'link.json'));
    await fs.mkdir(path.join(dir, 'dir.json'));
    expect(await readTestReport(path.join(dir, 'good.json'), 'jest-json')).toMatchObject({ parsed: { counts: { passed: 1 } } });
    expect(await readTestReport(path.join(dir, 'none.json'), 'jest-json')).toEqual({ problem: 'no report file was written' });
    expect(await readTestReport(path.join(dir, 'link.json'), 'jest-json')).toEqual({ problem: 'the report is a symbolic link' });
    expect(await readTestReport(path.join(dir, 'dir.json'), 'jest-json')).toEqual({ problem: 'the report is not a regular file' });
    expect(await readTestReport(path.join(dir, 'bad.json'), 'jest-json')).toEqual({ problem: 'the report is not a valid JSON test report' });
  });

  it('passes a run only on a report with an executed test, no failure and exit 0', () => {
    const report = (counts: { passed: number; failed: number; skipped: number; total: number }) => ({ parsed: { counts, failures: [], outcomes: [] } });
    expect(judgeTestRun({ exitCode: 0, unrecordable: null, report: report({ passed: 2, failed: 0, skipped: 1, total: 3 }) })).toBeNull();
    expect(judgeTestRun({ exitCode: 0, unrecordable: 'runner unknown', report: null })).toBe('runner unknown');
    expect(judgeTestRun({ exitCode: 0, unrecordable: null, report: { problem: 'no report file was written' } })).toMatch(/no usable report.*nothing proves a test ran/);
    expect(judgeTestRun({ exitCode: 0, unrecordable: null, report: report({ passed: 1, failed: 1, skipped: 0, total: 2 }) })).toBe("1 of 2 tests failed (by the runner's report)");
    expect(judgeTestRun({ exitCode: 0, unrecordable: null, report: report({ passed: 0, failed: 0, skipped: 0, total: 0 }) })).toBe('no test was executed');
    expect(judgeTestRun({ exitCode: 0, unrecordable: null, report: report({ passed: 0, failed: 0, skipped: 2, total: 2 }) })).toBe('every test was skipped');
    expect(judgeTestRun({ exitCode: 1, unrecordable: null, report: report({ passed: 2, failed: 0, skipped: 0, total: 2 }) })).toMatch(/exited with code 1 although/);
  });
});

describe('sensitive paths by default', () => {
  const globs = configFileSchema.parse({}).git.sensitivePaths;

  it('is the documented default list', () => {
    expect(globs).toEqual([...DEFAULT_SENSITIVE_PATHS]);
  });

  it('lists what redefines passing, or what a tree holds, at any depth', () => {
    const sensitive = [
      'package.json',
      'packages/api/package.json',
      'package-lock.json',
      'npm-shrinkwrap.json',
      'yarn.lock',
      'pnpm-lock.yaml',
      'pnpm-workspace.yaml',
      'bun.lock',
      'bun.lockb',
      '.yarnrc.yml',
      '.pnpmfile.cjs',
      '.npmrc',
      'tsconfig.json',
      'tsconfig.build.json',
      'packages/api/tsconfig.json',
      'jsconfig.json',
      'vitest.config.ts',
      'vitest.workspace.ts',
      'vitest.setup.ts',
      'vite.config.mjs',
      'jest.config.js',
      'jest.setup.ts',
      'bunfig.toml',
      '.mocharc.yml',
      'babel.config.js',
      '.babelrc',
      '.github/workflows/ci.yml',
      'CODEOWNERS',
      'docs/CODEOWNERS',
      '.gitattributes',
      '.gitmodules',
      '.gitignore',
      'src/.gitignore',
      'selfscope.config.json',
      '.mcp.json',
      '.claude/settings.json',
      '.env.local',
    ];
    const ordinary = ['src/index.ts', 'test/queue.test.ts', 'README.md', 'docs/package-json.md', 'src/config/tsconfig.ts', 'src/jest-helpers.ts', 'scripts/test.sh'];
    expect(sensitivePaths([...sensitive, ...ordinary], globs)).toEqual(sensitive);
  });
});
