import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configFileSchema } from '../../../src/config/schema.js';
import { UserInputError } from '../../../src/core/errors.js';
import { createBranchWorktree, defaultBranch } from '../../../src/core/git/branch.js';
import { commitVerified } from '../../../src/core/git/commit.js';
import { GitRunner } from '../../../src/core/git/runner.js';
import { createPullRequest } from '../../../src/core/github/pull-request.js';
import { createTempRepo, git, type TempRepo } from '../../helpers/temp-repo.js';
import { recordPassingChecks } from '../../helpers/verification.js';

/**
 * Pull requests from a deployment shaped like the bot's: default branch master, a stale
 * local `main` lying around, origin a GitHub URL (with its HEAD) or removed, no token.
 */

const repos: TempRepo[] = [];
afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.cleanup()));
});

async function deployment(origin: 'github' | 'none') {
  const repo = await createTempRepo({ files: { '.gitignore': '.selfscope/\nnode_modules/\n', 'src/queue.ts': 'export const q = 1;\n' } });
  repos.push(repo);
  await git(repo.dir, ['branch', '-m', 'main', 'master']);
  // A stale `main` at the first commit: a guess of "main" would base the proposal there.
  await fs.writeFile(path.join(repo.dir, 'src', 'later.ts'), 'export const later = true;\n');
  await git(repo.dir, ['add', '-A']);
  await git(repo.dir, ['commit', '-q', '-m', 'later work on master']);
  await git(repo.dir, ['branch', 'main', 'HEAD~1']);
  if (origin === 'github') {
    await git(repo.dir, ['remote', 'add', 'origin', 'https://github.com/Volpestyle/clanky.git']);
    // What a clone leaves: origin/master and origin/HEAD -> origin/master (no fetch here: no network).
    await git(repo.dir, ['update-ref', 'refs/remotes/origin/master', 'HEAD']);
    await git(repo.dir, ['symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/master']);
  }
  const stateDirPath = path.join(repo.dir, '.selfscope');
  const config = { ...configFileSchema.parse({}), stateDirPath, privateDirPath: repo.privateDir };
  return { repo, stateDirPath, config };
}

async function commitFix(d: Awaited<ReturnType<typeof deployment>>) {
  const b = await createBranchWorktree({ repo: d.repo.dir, stateDirPath: d.stateDirPath, name: 'fix-queue', prefix: 'selfscope/', remote: 'origin' });
  await fs.writeFile(path.join(b.worktree, 'src', 'queue.ts'), 'export const q = 2;\n');
  await fs.writeFile(path.join(b.worktree, 'src', 'bin.dat'), Buffer.from([0, 1, 2, 255, 0, 7]));
  await recordPassingChecks(b.worktree, d.repo.privateDir);
  await commitVerified({ worktree: b.worktree, privateDirPath: d.repo.privateDir, git: d.config.git, message: 'Fix the queue' });
  return b;
}

async function appliesOnMaster(repoDir: string, patch: string): Promise<void> {
  const clone = `${repoDir}-clone`;
  await git(path.dirname(repoDir), ['clone', '-q', '--no-local', '-b', 'master', repoDir, clone]);
  try {
    await git(clone, ['am', '-q', patch]);
    expect(await fs.readFile(path.join(clone, 'src', 'queue.ts'), 'utf8')).toBe('export const q = 2;\n');
    expect([...(await fs.readFile(path.join(clone, 'src', 'bin.dat')))]).toEqual([0, 1, 2, 255, 0, 7]);
    expect(await fs.readFile(path.join(clone, 'src', 'later.ts'), 'utf8')).toBe('export const later = true;\n');
  } finally {
    await fs.rm(clone, { recursive: true, force: true });
  }
}

describe('git_pr_create on a deployment without a token', () => {
  it.each(['github', 'none'] as const)('origin %s: writes a local proposal based on master (not the stale main) that git am applies', async (origin) => {
    const d = await deployment(origin);
    expect(await defaultBranch(new GitRunner(d.repo.dir), undefined, 'origin')).toBe('master');
    const b = await commitFix(d);
    expect(b.base).toBe('master');
    const pr = await createPullRequest({ worktree: b.worktree, config: d.config, title: 'Fix the queue', evidence: { summary: 'why' }, env: {} });
    expect(pr).toMatchObject({ kind: 'local_proposal', pushed: false, url: null, number: null });
    expect(pr.local_reason).toMatch(/no GitHub token/);
    const patch = path.join(pr.proposal_dir!, 'change.patch');
    const text = await fs.readFile(patch, 'utf8');
    expect(text.match(/^Subject: /gm)).toHaveLength(1);
    expect(text).not.toMatch(/later work on master/);
    expect(await fs.readFile(path.join(pr.proposal_dir!, 'PROPOSAL.md'), 'utf8')).toMatch(/1 commit\(s\) over `master`/);
    await appliesOnMaster(d.repo.dir, patch);
  });

  it('uses the branch the main checkout is on when main and master both exist and origin has no HEAD', async () => {
    const d = await deployment('none');
    await git(d.repo.dir, ['branch', '-m', 'main', 'old-main']);
    await git(d.repo.dir, ['branch', 'main', 'old-main']);
    expect(await defaultBranch(new GitRunner(d.repo.dir), undefined, 'origin')).toBe('master');
    // Seen from a worktree, the main checkout's branch still decides.
    const b = await createBranchWorktree({ repo: d.repo.dir, stateDirPath: d.stateDirPath, name: 'x', prefix: 'selfscope/', remote: 'origin' });
    expect(await defaultBranch(new GitRunner(b.worktree), undefined, 'origin')).toBe('master');
  });

  it('bases on origin/master when the deployment has no local master branch', async () => {
    const d = await deployment('github');
    await git(d.repo.dir, ['checkout', '-q', '--detach']);
    await git(d.repo.dir, ['branch', '-D', 'master']);
    const b = await commitFix(d);
    expect(b.base).toBe('master');
    const pr = await createPullRequest({ worktree: b.worktree, config: d.config, title: 'Fix the queue', evidence: {}, env: {} });
    const text = await fs.readFile(path.join(pr.proposal_dir!, 'change.patch'), 'utf8');
    expect(text.match(/^Subject: /gm)).toHaveLength(1);
    await git(d.repo.dir, ['branch', 'master', 'refs/remotes/origin/master']);
    await appliesOnMaster(d.repo.dir, path.join(pr.proposal_dir!, 'change.patch'));
  });

  it('refuses, with what to do, a branch with nothing to propose and a base that is not there', async () => {
    const d = await deployment('github');
    const b = await createBranchWorktree({ repo: d.repo.dir, stateDirPath: d.stateDirPath, name: 'empty', prefix: 'selfscope/', remote: 'origin' });
    const empty = (await createPullRequest({ worktree: b.worktree, config: d.config, title: 'Nothing', evidence: {}, env: {} }).catch((e: unknown) => e)) as UserInputError;
    expect(empty).toBeInstanceOf(UserInputError);
    expect(empty.message).toMatch(/nothing to propose/);
    for (const base of ['nope', '--output=/tmp/x', ' ']) {
      await expect(createPullRequest({ worktree: b.worktree, config: d.config, title: 'x', evidence: {}, env: {}, base })).rejects.toBeInstanceOf(UserInputError);
    }
    await expect(fs.access(path.join(d.stateDirPath, 'proposals'))).rejects.toThrow();
  });
});
