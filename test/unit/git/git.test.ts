import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configFileSchema } from '../../../src/config/schema.js';
import { recordVerificationRun, treeIdentity } from '../../../src/core/checks/attestation.js';
import { PolicyError, UserInputError } from '../../../src/core/errors.js';
import { createBranchWorktree } from '../../../src/core/git/branch.js';
import { commitVerified } from '../../../src/core/git/commit.js';
import { gitDiff, gitLog, gitStatus } from '../../../src/core/git/inspect.js';
import { GitRunner } from '../../../src/core/git/runner.js';
import { recordApproval } from '../../../src/core/policy/approvals.js';
import { resolveWorktree } from '../../../src/core/git/worktrees.js';
import { createTempRepo, git, type TempRepo } from '../../helpers/temp-repo.js';
import { recordPassingChecks } from '../../helpers/verification.js';

const repos: TempRepo[] = [];
afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.cleanup()));
});

const gitConfig = configFileSchema.parse({}).git;

async function setup(files: Record<string, string> = { 'src/queue.ts': 'export const q = 1;\n' }) {
  const repo = await createTempRepo({ files: { '.gitignore': '.selfscope/\n', ...files } });
  repos.push(repo);
  const stateDirPath = path.join(repo.dir, '.selfscope');
  const privateDirPath = repo.privateDir;
  const branch = await createBranchWorktree({ repo: repo.dir, stateDirPath, name: 'fix-queue', prefix: 'selfscope/', remote: 'origin' });
  return { repo, stateDirPath, privateDirPath, ...branch };
}


describe('git_branch_create', () => {
  it('creates a prefixed branch in a worktree under the state directory, never touching the checkout', async () => {
    const { repo, worktree, branch, stateDirPath, privateDirPath } = await setup();
    expect(branch).toBe('selfscope/fix-queue');
    expect(worktree).toBe(await fs.realpath(path.join(stateDirPath, 'worktrees', 'selfscope-fix-queue')));
    expect((await git(worktree, ['symbolic-ref', '--short', 'HEAD'])).trim()).toBe(branch);
    expect((await git(repo.dir, ['symbolic-ref', '--short', 'HEAD'])).trim()).toBe('main');
    expect(await git(repo.dir, ['status', '--porcelain'])).toBe('');
  });

  it('refuses an existing branch unless asked to reuse it', async () => {
    const { repo, stateDirPath, privateDirPath, worktree } = await setup();
    await expect(createBranchWorktree({ repo: repo.dir, stateDirPath, name: 'fix-queue', prefix: 'selfscope/', remote: 'origin' })).rejects.toThrow(/exists already/);
    const again = await createBranchWorktree({ repo: repo.dir, stateDirPath, name: 'fix-queue', prefix: 'selfscope/', remote: 'origin', reuse: true });
    expect(again).toMatchObject({ worktree, created: false });
  });

  it.each(['--output=/tmp/x', '-b', 'a b', 'x..y', 'x@{1}', 'trailing/', 'lock.lock', 'a\u0000b', 'x'.repeat(101)])('refuses the branch name %j', async (name) => {
    const { repo, stateDirPath, privateDirPath } = await setup();
    await expect(createBranchWorktree({ repo: repo.dir, stateDirPath, name, prefix: 'selfscope/', remote: 'origin' })).rejects.toBeInstanceOf(UserInputError);
    await expect(fs.access('/tmp/x')).rejects.toThrow();
  });

  it('refuses an option-looking or unknown base', async () => {
    const { repo, stateDirPath, privateDirPath } = await setup();
    await expect(createBranchWorktree({ repo: repo.dir, stateDirPath, name: 'other', base: '--output=/tmp/x', prefix: 'selfscope/', remote: 'origin' })).rejects.toBeInstanceOf(UserInputError);
    await expect(createBranchWorktree({ repo: repo.dir, stateDirPath, name: 'other', base: 'nope', prefix: 'selfscope/', remote: 'origin' })).rejects.toThrow(/not a branch/);
  });
});

describe('worktree confinement', () => {
  it('accepts the repository and its selfscope worktrees, refuses traversal and symlinks out', async () => {
    const { repo, stateDirPath, privateDirPath, worktree } = await setup();
    const opts = { repo: repo.dir, stateDirPath, cwd: repo.dir };
    expect(await resolveWorktree({ ...opts, requested: worktree })).toBe(worktree);
    expect(await resolveWorktree({ ...opts, requested: '.' })).toBe(repo.dir);
    expect(await resolveWorktree({ ...opts, cwd: path.join(worktree, 'src') })).toBe(worktree);
    const outside = await fs.mkdtemp(path.join(os.tmpdir(), 'outside-'));
    await git(outside, ['init', '-q']);
    await fs.symlink(outside, path.join(repo.dir, 'link-out'));
    for (const requested of ['..', '../..', '/etc', 'link-out', `${worktree}/../../../..`, 'a\u0000b']) {
      await expect(resolveWorktree({ ...opts, requested })).rejects.toBeInstanceOf(UserInputError);
    }
    await fs.rm(outside, { recursive: true, force: true });
  });
});

describe('git_commit guardrails', () => {
  it('refuses when no tests ran, and commits exactly the verified tree once they passed', async () => {
    const { worktree, stateDirPath, privateDirPath } = await setup();
    await fs.writeFile(path.join(worktree, 'src', 'queue.ts'), 'export const q = 2;\n');
    const req = { worktree, privateDirPath, git: gitConfig, message: 'Fix the queue\n\nBecause it broke.' };
    const refused = await commitVerified(req).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PolicyError);
    expect((refused as PolicyError).message).toMatch(/typecheck and tests/);
    expect((refused as PolicyError).hint).toMatch(/run_typecheck and run_tests/);
    const tree = await recordPassingChecks(worktree, privateDirPath);
    const result = await commitVerified(req);
    expect(result.tree).toBe(tree);
    expect((await git(worktree, ['rev-parse', 'HEAD^{tree}'])).trim()).toBe(tree);
    expect((await git(worktree, ['log', '-1', '--format=%B'])).trim()).toBe('Fix the queue\n\nBecause it broke.');
    expect(await git(worktree, ['status', '--porcelain'])).toBe('');
  });

  it('refuses a commit after a file changed since the tests passed', async () => {
    const { worktree, stateDirPath, privateDirPath } = await setup();
    await fs.writeFile(path.join(worktree, 'src', 'queue.ts'), 'export const q = 2;\n');
    await recordPassingChecks(worktree, privateDirPath);
    await fs.writeFile(path.join(worktree, 'src', 'new.ts'), 'export const late = true;\n');
    await expect(commitVerified({ worktree, privateDirPath, git: gitConfig, message: 'x' })).rejects.toThrow(/exactly the tree/);
  });

  it('refuses when only the typecheck passed, and when the test run failed', async () => {
    const { worktree, stateDirPath, privateDirPath } = await setup();
    await fs.writeFile(path.join(worktree, 'src', 'queue.ts'), 'export const q = 3;\n');
    const tree = await treeIdentity(worktree);
    const now = new Date().toISOString();
    await recordVerificationRun(privateDirPath, { id: 'run-t', tree, worktree, check: 'typecheck', command: ['tsc'], reason: '', ok: true, exit_code: 0, counts: null, tree_changed: false, started_at: now, finished_at: now, duration_ms: 1, sandbox: 'bwrap', sandbox_reason: null });
    await recordVerificationRun(privateDirPath, { id: 'run-f', tree, worktree, check: 'test', command: ['vitest'], reason: '', ok: false, exit_code: 1, counts: null, tree_changed: false, started_at: now, finished_at: now, duration_ms: 1, sandbox: 'bwrap', sandbox_reason: null });
    await expect(commitVerified({ worktree, privateDirPath, git: gitConfig, message: 'x' })).rejects.toThrow(/test: its latest run did not pass/);
  });

  it('refuses a protected branch', async () => {
    const { repo, stateDirPath, privateDirPath } = await setup();
    await fs.writeFile(path.join(repo.dir, 'src', 'queue.ts'), 'export const q = 9;\n');
    await recordPassingChecks(repo.dir, privateDirPath);
    await expect(commitVerified({ worktree: repo.dir, privateDirPath, git: gitConfig, message: 'x' })).rejects.toThrow(/main is a protected branch/);
  });

  it('refuses a secret in the change, naming file and line but never the secret', async () => {
    const { worktree, stateDirPath, privateDirPath } = await setup();
    const secret = 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';
    await fs.writeFile(path.join(worktree, 'src', 'config.ts'), `export const a = 1;\nexport const token = '${secret}';\n`);
    await recordPassingChecks(worktree, privateDirPath);
    const error = (await commitVerified({ worktree, privateDirPath, git: gitConfig, message: 'x' }).catch((e: unknown) => e)) as PolicyError;
    expect(error).toBeInstanceOf(PolicyError);
    expect(error.message).toContain('src/config.ts:2');
    expect(JSON.stringify({ m: error.message, h: error.hint, d: error.details })).not.toContain(secret);
  });

  it('refuses .env files', async () => {
    const { worktree, stateDirPath, privateDirPath } = await setup();
    await fs.writeFile(path.join(worktree, '.env'), 'A=1\n');
    await recordPassingChecks(worktree, privateDirPath);
    await expect(commitVerified({ worktree, privateDirPath, git: gitConfig, message: 'x' })).rejects.toThrow(/environment files/);
  });

  it('needs a human approval for security-sensitive paths', async () => {
    const { worktree, stateDirPath, privateDirPath } = await setup();
    await fs.mkdir(path.join(worktree, '.github', 'workflows'), { recursive: true });
    await fs.writeFile(path.join(worktree, '.github', 'workflows', 'ci.yml'), 'on: push\n');
    await recordPassingChecks(worktree, privateDirPath);
    const refused = (await commitVerified({ worktree, privateDirPath, git: gitConfig, message: 'ci' }).catch((e: unknown) => e)) as PolicyError;
    expect(refused.message).toMatch(/security-sensitive/);
    expect(refused.hint).toMatch(/selfscope approve --tree [0-9a-f]{40}/);
    // A client's confirmation counts only where the configuration opts in (test/unit/git/approvals.test.ts).
    const optedIn = { ...gitConfig, elicitationApproves: true };
    const declined = commitVerified({ worktree, privateDirPath, git: optedIn, message: 'ci', askHuman: async () => null });
    await expect(declined).rejects.toThrow(/no human has approved/);
    const ok = await commitVerified({ worktree, privateDirPath, git: optedIn, message: 'ci', askHuman: async () => ({ approvedBy: 'alice' }) });
    expect(ok.approval).toMatch(/^apr-/);
    expect(ok.files).toEqual(['.github/workflows/ci.yml']);
  });
});

describe('files the test script runs', () => {
  it('need approval like the manifest naming them: the list of test files decides what counts', async () => {
    const { worktree, privateDirPath } = await setup({
      'src/queue.ts': 'export const q = 1;\n',
      'package.json': JSON.stringify({ scripts: { test: 'bun test $(bun run --silent test:files)', 'test:files': 'bun ./scripts/list-test-files.ts' } }),
      'scripts/list-test-files.ts': 'console.log("src/queue.test.ts");\n',
    });
    await fs.writeFile(path.join(worktree, 'scripts', 'list-test-files.ts'), 'console.log("");\n');
    await fs.writeFile(path.join(worktree, 'src', 'queue.ts'), 'export const q = 2;\n');
    await recordPassingChecks(worktree, privateDirPath);
    const refused = (await commitVerified({ worktree, privateDirPath, git: gitConfig, message: 'x' }).catch((e: unknown) => e)) as PolicyError;
    expect(refused).toBeInstanceOf(PolicyError);
    expect(refused.message).toMatch(/security-sensitive paths \(scripts\/list-test-files\.ts\)/);
    // Code the scripts do not name commits as before.
    await git(worktree, ['checkout', '--', 'scripts/list-test-files.ts']);
    await recordPassingChecks(worktree, privateDirPath);
    expect((await commitVerified({ worktree, privateDirPath, git: gitConfig, message: 'x' })).files).toEqual(['src/queue.ts']);
  });
});

describe('hardened git', () => {
  it('runs no program that a planted hook or repository config names', async () => {
    const { repo, worktree, stateDirPath, privateDirPath } = await setup();
    const marker = path.join(os.tmpdir(), `selfscope-pwned-${process.pid}-${Date.now()}`);
    const evil = `sh -c 'touch ${marker}; cat'`;
    for (const hook of ['pre-commit', 'post-checkout', 'post-commit', 'reference-transaction', 'post-index-change']) {
      await fs.writeFile(path.join(repo.dir, '.git', 'hooks', hook), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    }
    for (const [key, value] of [
      ['filter.evil.clean', evil],
      ['filter.evil.smudge', evil],
      ['filter.evil.process', evil],
      ['diff.evil.textconv', evil],
      ['diff.external', evil],
      ['core.fsmonitor', evil],
      ['core.pager', evil],
      ['core.sshCommand', evil],
      ['remote.origin.uploadpack', evil],
    ]) {
      await git(repo.dir, ['config', key!, value!]);
    }
    await fs.writeFile(path.join(worktree, '.gitattributes'), '* filter=evil diff=evil\n');
    await fs.writeFile(path.join(worktree, 'src', 'queue.ts'), 'export const q = 5;\n');
    await gitStatus(worktree);
    await gitDiff(worktree, { mode: 'working' });
    await gitLog(worktree, { max: 5 });
    const tree = await recordPassingChecks(worktree, privateDirPath);
    // .gitattributes is security-sensitive: a person approved this tree (as `selfscope approve` records it).
    await recordApproval(privateDirPath, { kind: 'sensitive_commit', subject: tree, approved_by: 'alice', via: 'cli' });
    await commitVerified({ worktree, privateDirPath, git: gitConfig, message: 'x' });
    await createBranchWorktree({ repo: repo.dir, stateDirPath, name: 'second', prefix: 'selfscope/', remote: 'origin' });
    await expect(fs.access(marker)).rejects.toThrow();
  });

  it('passes user values after --end-of-options', async () => {
    const { worktree } = await setup();
    await expect(gitLog(worktree, { max: 5, ref: '--output=/tmp/selfscope-x' })).rejects.toBeInstanceOf(UserInputError);
    await expect(gitDiff(worktree, { mode: 'range', base: '--output=/tmp/selfscope-x' })).rejects.toBeInstanceOf(UserInputError);
    await expect(fs.access('/tmp/selfscope-x')).rejects.toThrow();
    const runner = new GitRunner(worktree);
    await expect(runner.run(['rev-parse', '--verify', '--end-of-options', '--output=/tmp/selfscope-x'])).rejects.toThrow();
    await expect(fs.access('/tmp/selfscope-x')).rejects.toThrow();
  });
});
