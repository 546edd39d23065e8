import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configFileSchema } from '../../../src/config/schema.js';
import { verificationFor } from '../../../src/core/checks/attestation.js';
import { CheckRunner, type CheckResult } from '../../../src/core/checks/check-runner.js';
import { UserInputError } from '../../../src/core/errors.js';
import { fixtureProject } from '../../helpers/fixture-project.js';
import type { TempRepo } from '../../helpers/temp-repo.js';

/**
 * The hostile agent's ways to make "tests passed" mean nothing, on real vitest and
 * node --test runs: none may record a passing run, and each says why.
 */

const repos: TempRepo[] = [];
afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.cleanup()));
});

async function project(files: Record<string, string>): Promise<TempRepo> {
  const repo = await fixtureProject(files);
  repos.push(repo);
  return repo;
}

function runner(repo: TempRepo, checks: Record<string, unknown> = {}): CheckRunner {
  const config = configFileSchema.parse({ checks });
  return new CheckRunner(config.checks, path.join(repo.dir, '.selfscope'), repo.privateDir);
}

const pkg = (test: string, extra: Record<string, string> = {}) => JSON.stringify({ name: 'fixture', type: 'module', scripts: { test, ...extra } });

const VITEST_PASS = `import { it, expect } from 'vitest';\nit('adds', () => { expect(1 + 1).toBe(2); });\n`;
const VITEST_FAIL = `import { it, expect } from 'vitest';\nit('adds', () => { expect(1 + 1).toBe(2); });\nit('breaks', () => { expect(1).toBe(2); });\n`;
const NODE_PASS = `import test from 'node:test';\nimport assert from 'node:assert';\ntest('adds', () => assert.equal(1 + 1, 2));\ntest('--config=x', () => {});\n`;

/** A run that the commit gate does not accept: not ok, and recorded as not ok for its tree. */
async function expectNotPassing(repo: TempRepo, r: CheckResult, reason: RegExp): Promise<void> {
  expect(r.ok).toBe(false);
  expect(r.not_ok_reason).toMatch(reason);
  expect(r.recorded).toBe(true);
  const v = await verificationFor(repo.privateDir, r.tree);
  expect(v.test?.id).toBe(r.id);
  expect(v.test?.ok).toBe(false);
  expect(v.missing).toContain('test');
}

describe('redefining what passing means does not record a pass', () => {
  it('`echo ok` and `exit 0`: no runner, so unrecordable, with the way out named', async () => {
    for (const script of ['echo ok', 'exit 0']) {
      const repo = await project({ 'package.json': pkg(script), 'test/a.test.js': VITEST_PASS });
      const r = await runner(repo).run({ worktree: repo.dir, check: 'test' });
      expect(r.exit_code).toBe(0);
      expect(r.counts).toBeNull();
      await expectNotPassing(repo, r, /cannot tell which test runner.*checks\.runner/);
    }
  });

  it('`vitest run || true` with a failing test: the report counts the failure although the script exits 0', async () => {
    const repo = await project({ 'package.json': pkg('vitest run || true'), 'test/a.test.js': VITEST_FAIL });
    const r = await runner(repo).run({ worktree: repo.dir, check: 'test' });
    expect(r.exit_code).toBe(0);
    expect(r.counts).toEqual({ passed: 1, failed: 1, skipped: 0, total: 2 });
    expect(r.failures.map((f) => f.name)).toEqual(['breaks']);
    await expectNotPassing(repo, r, /^1 of 2 tests failed/);
  });

  it('`node --test` with no test file: the report shows zero tests executed', async () => {
    const repo = await project({ 'package.json': pkg('node --test'), 'src/index.js': 'export const a = 1;\n' });
    const r = await runner(repo).run({ worktree: repo.dir, check: 'test' });
    expect(r.exit_code).toBe(0);
    expect(r.counts?.total).toBe(0);
    await expectNotPassing(repo, r, /^no test was executed$/);
  });

  it('every node test skipped or todo is not a pass', async () => {
    const repo = await project({
      'package.json': pkg('node --test'),
      'test/a.test.mjs': `import test from 'node:test';\ntest.skip('a', () => {});\ntest.todo('b');\ntest('c', { todo: true }, () => { throw new Error('not yet'); });\n`,
    });
    const r = await runner(repo).run({ worktree: repo.dir, check: 'test' });
    expect(r.counts).toEqual({ passed: 0, failed: 0, skipped: 3, total: 3 });
    await expectNotPassing(repo, r, /^every test was skipped$/);
  });

  it('a vitest.config.ts with passWithNoTests that finds no test is not a pass', async () => {
    const repo = await project({
      'package.json': pkg('vitest run'),
      'vitest.config.ts': `import { defineConfig } from 'vitest/config';\nexport default defineConfig({ test: { passWithNoTests: true, include: ['nothing/**/*.test.js'] } });\n`,
      'test/a.test.js': VITEST_FAIL,
    });
    const r = await runner(repo).run({ worktree: repo.dir, check: 'test' });
    expect(r.exit_code).toBe(0);
    await expectNotPassing(repo, r, /^no test was executed$/);
  });

  it('a report file that is not there (the script never runs the runner it names) is not a pass', async () => {
    // `vitest` appears only as an argument of echo: no runner call, so unrecordable.
    const repo = await project({ 'package.json': pkg('echo vitest run'), 'test/a.test.js': VITEST_PASS });
    const r = await runner(repo).run({ worktree: repo.dir, check: 'test' });
    await expectNotPassing(repo, r, /cannot tell which test runner/);
    // checks.runner claims vitest for a script that does not run it: the missing report decides.
    const claimed = await runner(repo, { runner: 'vitest', test: ['node', '-e', 'process.exit(0)'] }).run({ worktree: repo.dir, check: 'test' });
    await expectNotPassing(repo, claimed, /no usable report from the runner \(no report file was written\)/);
  });
});

describe('files and name_pattern cannot reach the runner as options', () => {
  it('refuses an option, a path outside the worktree and an absolute path, before running anything', async () => {
    const repo = await project({ 'package.json': pkg('vitest run'), 'test/a.test.js': VITEST_PASS });
    await fs.writeFile(path.join(path.dirname(repo.dir), `${path.basename(repo.dir)}-outside.test.ts`), '');
    try {
      for (const [file, why] of [
        ['--reporter=dot', /read as an option/],
        [`../${path.basename(repo.dir)}-outside.test.ts`, /"\.\."/],
        ['/etc/passwd', /not a relative path/],
      ] as const) {
        const error = await runner(repo)
          .run({ worktree: repo.dir, check: 'test', files: [file] })
          .catch((e: unknown) => e);
        expect(error, file).toBeInstanceOf(UserInputError);
        expect((error as Error).message).toMatch(why);
      }
      // Nothing ran, so nothing was recorded.
      await expect(fs.readdir(path.join(repo.dir, '.selfscope', 'runs'))).rejects.toThrow();
    } finally {
      await fs.rm(path.join(path.dirname(repo.dir), `${path.basename(repo.dir)}-outside.test.ts`), { force: true });
    }
  });

  it('takes name_pattern "--config=x" as a name to match, and a subset is never recorded', async () => {
    const repo = await project({ 'package.json': pkg('node --test test/'), 'test/a.test.mjs': NODE_PASS });
    const r = await runner(repo).run({ worktree: repo.dir, check: 'test', namePattern: '--config=x' });
    expect(r.counts).toEqual({ passed: 1, failed: 0, skipped: 1, total: 2 });
    expect(r.ok).toBe(true);
    expect(r.recorded).toBe(false);
  });
});

describe('genuine projects still pass', () => {
  it('node --test over a directory (reporter flags before the directory), with counts, recorded; a file subset runs only that file', async () => {
    const repo = await project({
      'package.json': pkg('node --test test/'),
      'test/a.test.mjs': NODE_PASS,
      'test/b.test.mjs': `import test from 'node:test';\ntest('b', () => {});\n`,
    });
    const r = await runner(repo).run({ worktree: repo.dir, check: 'test' });
    expect(r.not_ok_reason).toBeNull();
    expect(r.ok).toBe(true);
    expect(r.counts).toEqual({ passed: 3, failed: 0, skipped: 0, total: 3 });
    expect(r.recorded).toBe(true);
    const v = await verificationFor(repo.privateDir, r.tree);
    expect(v.test?.ok).toBe(true);
    const subset = await runner(repo).run({ worktree: repo.dir, check: 'test', files: ['test/b.test.mjs'] });
    expect(subset.counts).toEqual({ passed: 1, failed: 0, skipped: 0, total: 1 });
    expect(subset.recorded).toBe(false);
  });

  it('vitest behind a build step and `npm run`, in a compound script: passes by its report, failures still counted', async () => {
    const repo = await project({
      'package.json': pkg('npm run build && npm run unit', { build: 'node -e "process.exit(0)"', unit: 'vitest run' }),
      'test/a.test.js': VITEST_PASS,
    });
    const r = await runner(repo).run({ worktree: repo.dir, check: 'test' });
    expect(r.not_ok_reason).toBeNull();
    expect(r.counts).toEqual({ passed: 1, failed: 0, skipped: 0, total: 1 });
    expect(r.recorded).toBe(true);
    await fs.writeFile(path.join(repo.dir, 'test/a.test.js'), VITEST_FAIL);
    const failing = await runner(repo).run({ worktree: repo.dir, check: 'test' });
    expect(failing.counts).toMatchObject({ passed: 1, failed: 1 });
    expect(failing.ok).toBe(false);
  });

  it('a build step that fails keeps the runner from running: no report, not a pass', async () => {
    const repo = await project({ 'package.json': pkg('node -e "process.exit(3)" && vitest run'), 'test/a.test.js': VITEST_PASS });
    const r = await runner(repo).run({ worktree: repo.dir, check: 'test' });
    await expectNotPassing(repo, r, /no usable report.*exited with code 3/);
  });

  it('a wrapper script named by checks.runner passes by the runner\'s report', async () => {
    const repo = await project({
      'package.json': pkg('sh ./run-tests.sh'),
      'run-tests.sh': 'exec ./node_modules/.bin/vitest run "$@"\n',
      'test/a.test.js': VITEST_PASS,
    });
    const unknown = await runner(repo).run({ worktree: repo.dir, check: 'test' });
    expect(unknown.ok).toBe(false);
    const named = await runner(repo, { runner: 'vitest' }).run({ worktree: repo.dir, check: 'test' });
    expect(named.not_ok_reason).toBeNull();
    expect(named.counts?.passed).toBe(1);
  });
});
