import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configFileSchema } from '../../../src/config/schema.js';
import { createBranchWorktree } from '../../../src/core/git/branch.js';
import { commitVerified } from '../../../src/core/git/commit.js';
import { createPullRequest } from '../../../src/core/github/pull-request.js';
import { createTempRepo, git, type TempRepo } from '../../helpers/temp-repo.js';
import { recordPassingChecks } from '../../helpers/verification.js';

const repos: TempRepo[] = [];
afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.cleanup()));
});

describe('a local proposal on a repository whose default branch is master', () => {
  it('bases the patch on master (not a guessed main), and the patch applies with git am', async () => {
    const repo = await createTempRepo({ files: { '.gitignore': '.selfscope/\n', 'src/queue.ts': 'export const q = 1;\n' } });
    repos.push(repo);
    await git(repo.dir, ['branch', '-m', 'main', 'master']);
    const stateDirPath = path.join(repo.dir, '.selfscope');
    const config = { ...configFileSchema.parse({}), stateDirPath, privateDirPath: repo.privateDir };
    const b = await createBranchWorktree({ repo: repo.dir, stateDirPath, name: 'fix-queue', prefix: 'selfscope/', remote: 'origin' });
    expect(b.base).toBe('master');
    await fs.writeFile(path.join(b.worktree, 'src', 'queue.ts'), 'export const q = 2;\n');
    await recordPassingChecks(b.worktree, repo.privateDir);
    await commitVerified({ worktree: b.worktree, privateDirPath: repo.privateDir, git: config.git, message: 'Fix the queue' });

    // An id that would close the body's marker comment is refused before anything is written.
    await expect(createPullRequest({ worktree: b.worktree, config, title: 'Fix the queue', evidence: { anomaly_id: 'an-1 --> <!-- selfscope:anomaly=other' }, env: {} })).rejects.toThrow(/not an anomaly id/);
    const pr = await createPullRequest({ worktree: b.worktree, config, title: 'Fix the queue', evidence: {}, env: {} });
    expect(pr.kind).toBe('local_proposal');
    expect(pr.local_reason).toMatch(/no GitHub token/);
    const patch = await fs.readFile(path.join(pr.proposal_dir!, 'change.patch'), 'utf8');
    expect(patch).toMatch(/Subject: \[PATCH\] Fix the queue/);
    expect(patch).toMatch(/\+export const q = 2;/);

    // A person applies it on the default branch of a fresh clone.
    const clone = `${repo.dir}-clone`;
    await git(path.dirname(repo.dir), ['clone', '-q', '-b', 'master', repo.dir, clone]);
    try {
      await git(clone, ['am', '-q', path.join(pr.proposal_dir!, 'change.patch')]);
      expect(await fs.readFile(path.join(clone, 'src', 'queue.ts'), 'utf8')).toBe('export const q = 2;\n');
    } finally {
      await fs.rm(clone, { recursive: true, force: true });
    }
  });
});
