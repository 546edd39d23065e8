import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { configFileSchema } from '../../../src/config/schema.js';
import { treeIdentity, verificationFor } from '../../../src/core/checks/attestation.js';
import { CheckRunner, readRunOutput } from '../../../src/core/checks/check-runner.js';
import { ConfigurationError } from '../../../src/core/errors.js';
import { fixtureProject, TSCONFIG, VITEST_PKG } from '../../helpers/fixture-project.js';
import type { TempRepo } from '../../helpers/temp-repo.js';

const repos: TempRepo[] = [];
afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.cleanup()));
});

async function project(files: Record<string, string>, options?: { linkNodeModules?: boolean }): Promise<TempRepo> {
  const repo = await fixtureProject(files, options);
  repos.push(repo);
  return repo;
}

function runner(dir: string, checks: Record<string, unknown> = {}): CheckRunner {
  const config = configFileSchema.parse({ checks });
  return new CheckRunner(config.checks, path.join(dir, '.selfscope'), `${dir}.private`);
}

const passingTest = `import { it, expect } from 'vitest';\nit('adds', () => { expect(1 + 1).toBe(2); });\nit('concats', () => { expect('a' + 'b').toBe('ab'); });\n`;

describe('run_tests with vitest', () => {
  it('passes, counts, and records the pass against the tree', async () => {
    const repo = await project({ 'package.json': VITEST_PKG, 'test/a.test.js': passingTest });
    const r = await runner(repo.dir).run({ worktree: repo.dir, check: 'test' });
    expect(r.ok).toBe(true);
    expect(r.counts).toEqual({ passed: 2, failed: 0, skipped: 0, total: 2 });
    expect(r.command.slice(0, 3)).toEqual(['npm', 'run', 'test']);
    expect(r.reason).toMatch(/"test" script/);
    expect(r.recorded).toBe(true);
    const v = await verificationFor(repo.privateDir, r.tree);
    expect(v.test?.id).toBe(r.id);
    expect(v.missing).toEqual(['typecheck']);
    const page = await readRunOutput(path.join(repo.dir, '.selfscope'), r.id, 0, 100_000);
    expect(page?.text).toMatch(/2 passed/);
  });

  it('reports failures with names, messages, expected and actual', async () => {
    const repo = await project({
      'package.json': VITEST_PKG,
      'test/a.test.js': `import { it, expect, describe } from 'vitest';\ndescribe('queue', () => { it('keeps the queue', () => { expect(1).toBe(2); }); it('ok', () => {}); });\n`,
    });
    const r = await runner(repo.dir).run({ worktree: repo.dir, check: 'test' });
    expect(r.ok).toBe(false);
    expect(r.not_ok_reason).toMatch(/exited with code 1/);
    expect(r.counts).toMatchObject({ passed: 1, failed: 1 });
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]).toMatchObject({ name: 'queue keeps the queue', expected: expect.stringContaining('2'), actual: expect.stringContaining('1') });
    expect(r.failures[0]!.file).toMatch(/a\.test\.js$/);
    const v = await verificationFor(repo.privateDir, r.tree);
    expect(v.verified).toBe(false);
  });

  it('does not count zero executed tests, or all skipped, as a pass', async () => {
    const none = await project({ 'package.json': JSON.stringify({ type: 'module', scripts: { test: 'vitest run --passWithNoTests' } }) });
    const r1 = await runner(none.dir).run({ worktree: none.dir, check: 'test' });
    expect(r1.exit_code).toBe(0);
    expect(r1.ok).toBe(false);
    expect(r1.not_ok_reason).toBe('no test was executed');
    const skipped = await project({ 'package.json': VITEST_PKG, 'test/a.test.js': `import { it } from 'vitest';\nit.skip('a', () => {});\nit.skip('b', () => {});\n` });
    const r2 = await runner(skipped.dir).run({ worktree: skipped.dir, check: 'test' });
    expect(r2.ok).toBe(false);
    expect(r2.not_ok_reason).toBe('every test was skipped');
  });

  it('detects a flaky test with rerun_failed, and still does not call the run a pass', async () => {
    const repo = await project({
      'package.json': VITEST_PKG,
      'test/a.test.js': `import { it, expect } from 'vitest';\nimport fs from 'node:fs';\nit('stable', () => {});\nit('flaky one', () => { const f = 'ignored/marker'; if (!fs.existsSync(f)) { fs.mkdirSync('ignored', { recursive: true }); fs.writeFileSync(f, 'x'); expect('first').toBe('second'); } });\n`,
    });
    const r = await runner(repo.dir).run({ worktree: repo.dir, check: 'test', rerunFailed: true });
    expect(r.failures.map((f) => f.name)).toEqual(['flaky one']);
    expect(r.flaky.map((f) => f.name)).toEqual(['flaky one']);
    expect(r.ok).toBe(false);
  });

  it('runs a subset and does not record it as a pass of the tree', async () => {
    const repo = await project({ 'package.json': VITEST_PKG, 'test/a.test.js': passingTest, 'test/b.test.js': `import { it, expect } from 'vitest';\nit('fails', () => expect(1).toBe(0));\n` });
    const r = await runner(repo.dir).run({ worktree: repo.dir, check: 'test', files: ['test/a.test.js'] });
    expect(r.ok).toBe(true);
    expect(r.counts?.total).toBe(2);
    expect(r.recorded).toBe(false);
  });
});

describe('other runners', () => {
  it('parses node --test failures from its JUnit report', async () => {
    const repo = await project({
      'package.json': JSON.stringify({ scripts: { test: 'node --test' } }),
      'test/a.test.mjs': `import test from 'node:test';\nimport assert from 'node:assert';\ntest('adds', () => assert.equal(1 + 1, 2));\ntest('breaks', () => assert.equal(1, 2));\n`,
    });
    const r = await runner(repo.dir).run({ worktree: repo.dir, check: 'test' });
    expect(r.ok).toBe(false);
    expect(r.counts).toMatchObject({ passed: 1, failed: 1, total: 2 });
    expect(r.failures[0]!.name).toMatch(/breaks/);
  });

  it('parses tsc diagnostics with file and line', async () => {
    const repo = await project({ 'package.json': VITEST_PKG, 'tsconfig.json': TSCONFIG, 'src/a.ts': `export const n: number = 1;\nexport const s: string = n;\n` });
    const r = await runner(repo.dir).run({ worktree: repo.dir, check: 'typecheck' });
    expect(r.ok).toBe(false);
    expect(r.diagnostics).toEqual([expect.objectContaining({ file: 'src/a.ts', line: 2, column: 14, code: 'TS2322' })]);
  });

  it('falls back to tsc --noEmit when there is a tsconfig.json and no script', async () => {
    const repo = await project({ 'package.json': '{}', 'tsconfig.json': TSCONFIG, 'src/a.ts': 'export const n: number = 1;\n' });
    const r = await runner(repo.dir).run({ worktree: repo.dir, check: 'typecheck' });
    expect(r.reason).toMatch(/tsc --noEmit/);
    expect(r.ok).toBe(true);
  });

  it('names what to install when the package manager is missing (bun)', async () => {
    const repo = await project({ 'package.json': JSON.stringify({ scripts: { test: 'bun test' } }), 'bun.lock': '' });
    const error = await runner(repo.dir, { envAllowlist: ['HOME'], env: { PATH: '/nonexistent' } }).run({ worktree: repo.dir, check: 'test' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).message).toMatch(/"bun" is not installed/);
    expect((error as ConfigurationError).hint).toMatch(/bun/);
  });

  it('says clearly when there is no test command', async () => {
    const repo = await project({ 'package.json': '{}' });
    await expect(runner(repo.dir).run({ worktree: repo.dir, check: 'test' })).rejects.toThrow(/No test command/);
  });
});

describe('safety', () => {
  it('kills the whole process group at the timeout, leaving no orphan', async () => {
    const marker = `selfscope-orphan-${Date.now()}`;
    const repo = await project({
      'package.json': JSON.stringify({ scripts: { test: 'node hang.mjs' } }),
      'hang.mjs': `import { spawn } from 'node:child_process';\nspawn('sh', ['-c', 'sleep 1000; echo ${marker}'], { stdio: 'inherit' });\nsetInterval(() => {}, 1000);\n`,
    });
    const started = Date.now();
    const running = runner(repo.dir, { test: ['node', 'hang.mjs'] }).run({ worktree: repo.dir, check: 'test', timeoutS: 3 });
    const alive = async () => (await execa('ps', ['-eo', 'args'])).stdout.includes(marker);
    let deadline = Date.now() + 5000;
    while (!(await alive()) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    expect(await alive()).toBe(true); // the forked child really was there
    const r = await running;
    expect(r.timed_out).toBe(true);
    expect(r.ok).toBe(false);
    expect(Date.now() - started).toBeLessThan(10_000);
    deadline = Date.now() + 5000;
    while ((await alive()) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    expect(await alive()).toBe(false);
  });

  it('caps an output flood', async () => {
    const repo = await project({ 'flood.mjs': `const line = 'x'.repeat(1023) + '\\n';\nfor (let i = 0; i < 64 * 1024; i++) process.stdout.write(line);\n` });
    const r = await runner(repo.dir, { test: ['node', 'flood.mjs'], outputBytes: 64 * 1024 }).run({ worktree: repo.dir, check: 'test' });
    expect(r.output_bytes).toBe(64 * 1024 * 1024);
    expect(r.output_dropped_bytes).toBeGreaterThan(60 * 1024 * 1024);
    const page = await readRunOutput(path.join(repo.dir, '.selfscope'), r.id, 0, 10_000_000);
    expect(page!.total).toBeLessThan(200 * 1024);
  });

  it('never passes tokens to test code', async () => {
    process.env['GITHUB_TOKEN'] = 'ghp_secretsecretsecretsecretsecretsecret12';
    process.env['SELFSCOPE_TOKEN'] = 'selfscope-secret-token-value';
    try {
      const repo = await project({ 'env.mjs': 'console.log(JSON.stringify(process.env));\n' });
      const r = await runner(repo.dir, { test: ['node', 'env.mjs'] }).run({ worktree: repo.dir, check: 'test' });
      const page = await readRunOutput(path.join(repo.dir, '.selfscope'), r.id, 0, 1_000_000);
      const env = JSON.parse(page!.text.trim()) as Record<string, string>;
      expect(env['GITHUB_TOKEN']).toBeUndefined();
      expect(env['SELFSCOPE_TOKEN']).toBeUndefined();
      expect(env['PATH']).toBeDefined();
    } finally {
      delete process.env['GITHUB_TOKEN'];
      delete process.env['SELFSCOPE_TOKEN'];
    }
  });
});

describe('the record', () => {
  it('changes the tree identity with an untracked file, not with an ignored one', async () => {
    const repo = await project({ 'a.txt': 'a\n' });
    const before = await treeIdentity(repo.dir);
    await fs.mkdir(path.join(repo.dir, 'ignored'), { recursive: true });
    await fs.writeFile(path.join(repo.dir, 'ignored', 'x.txt'), 'ignored\n');
    expect(await treeIdentity(repo.dir)).toBe(before);
    await fs.writeFile(path.join(repo.dir, 'new.txt'), 'untracked\n');
    const after = await treeIdentity(repo.dir);
    expect(after).not.toBe(before);
    // The real index was not touched.
    const { stdout } = await execa('git', ['status', '--porcelain'], { cwd: repo.dir });
    expect(stdout).toBe('?? new.txt');
  });

  it('records nothing as passed when the tree changed during the run', async () => {
    const repo = await project({ 'edit.mjs': `import fs from 'node:fs';\nfs.writeFileSync('src-edited.txt', 'changed mid-run');\n` });
    const r = await runner(repo.dir, { test: ['node', 'edit.mjs'] }).run({ worktree: repo.dir, check: 'test' });
    expect(r.exit_code).toBe(0);
    expect(r.tree_changed).toBe(true);
    expect(r.ok).toBe(false);
    const v = await verificationFor(repo.privateDir, r.tree);
    expect(v.test?.ok).toBe(false);
    expect(v.verified).toBe(false);
  });

  it('ignores a record whose signature does not match', async () => {
    const repo = await project({ 'package.json': VITEST_PKG, 'test/a.test.js': passingTest, 'tsconfig.json': TSCONFIG, 'src/a.ts': 'export const a = 1;\n' });
    const r = runner(repo.dir);
    await r.run({ worktree: repo.dir, check: 'typecheck' });
    const t = await r.run({ worktree: repo.dir, check: 'test' });
    const state = repo.privateDir;
    expect((await verificationFor(state, t.tree)).verified).toBe(true);
    await fs.writeFile(path.join(state, 'record-key'), Buffer.alloc(32, 7));
    expect((await verificationFor(state, t.tree)).verified).toBe(false);
  });
});
