import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { treeIdentity } from '../../../src/core/checks/attestation.js';
import { readByRefsAndRecords, readWorktreeState, WorktreeStateCache } from '../../../src/core/checks/worktree-state.js';
import { recordPassingChecks } from '../../helpers/verification.js';
import { createTempRepo, git, type TempRepo } from '../../helpers/temp-repo.js';

let repo: TempRepo;
let cache: WorktreeStateCache;

// The files of each step are written before the read that should see them, so no racy
// window is needed (the production window only delays caching, never serves stale data).
const read = () => readWorktreeState(cache, { cwd: repo.dir, privateDirPath: repo.privateDir, resolveWorktree: async () => repo.dir });

beforeEach(async () => {
  repo = await createTempRepo({ files: { 'src/a.ts': 'export const a = 1;\n', '.gitignore': 'logs/*.ndjson\nnode_modules/\n', 'logs/keep.ndjson': '' } });
  cache = new WorktreeStateCache({ racyMs: 0 });
});
afterEach(async () => {
  await repo.cleanup();
});

describe('readWorktreeState', () => {
  it('answers from the cache while nothing changed, with the tree git computes', async () => {
    const first = await read();
    expect(first.cached).toBe(false);
    expect(first.tree).toBe(await treeIdentity(repo.dir));
    expect(first.branch).toBe('main');
    const second = await read();
    expect(second.cached).toBe(true);
    expect(second.tree).toBe(first.tree);
  });

  it('sees an edit to a tracked file after caching', async () => {
    const before = (await read()).tree;
    expect((await read()).cached).toBe(true);
    await fs.writeFile(path.join(repo.dir, 'src/a.ts'), 'export const a = 22;\n');
    const after = await read();
    expect(after.cached).toBe(false);
    expect(after.tree).not.toBe(before);
    expect(after.tree).toBe(await treeIdentity(repo.dir));
  });

  it('sees an edit of the same size whose mtime was put back', async () => {
    const file = path.join(repo.dir, 'src/a.ts');
    const before = (await read()).tree;
    expect((await read()).cached).toBe(true);
    const { atime, mtime } = await fs.stat(file);
    await fs.writeFile(file, 'export const a = 2;\n');
    await fs.utimes(file, atime, mtime);
    const after = await read();
    expect(after.tree).not.toBe(before);
    expect(after.tree).toBe(await treeIdentity(repo.dir));
  });

  it('sees a new untracked file, also in a directory that held only ignored files', async () => {
    const before = (await read()).tree;
    expect((await read()).cached).toBe(true);
    await fs.writeFile(path.join(repo.dir, 'logs', 'notes.md'), 'not ignored\n');
    const after = await read();
    expect(after.tree).not.toBe(before);
    expect(after.tree).toBe(await treeIdentity(repo.dir));
  });

  it('does not recompute for a change to an ignored file', async () => {
    await read();
    await fs.mkdir(path.join(repo.dir, 'node_modules', 'x'), { recursive: true });
    // The new ignored directory changed the top directory's mtime; and git may rewrite its
    // index once after files it stats were written in the same instant (racy git). Settle first.
    for (let i = 0; i < 5 && !(await read()).cached; i++);
    expect((await read()).cached).toBe(true);
    await fs.writeFile(path.join(repo.dir, 'node_modules', 'x', 'index.js'), 'module.exports = 1;\n');
    expect((await read()).cached).toBe(true);
  });

  it('sees a commit on a new branch, and a checkout back', async () => {
    const before = await read();
    expect((await read()).cached).toBe(true);
    await git(repo.dir, ['checkout', '-q', '-b', 'feature']);
    await fs.writeFile(path.join(repo.dir, 'src/b.ts'), 'export const b = 2;\n');
    await git(repo.dir, ['add', '-A']);
    await git(repo.dir, ['commit', '-q', '-m', 'b']);
    const afterCommit = await read();
    expect(afterCommit.cached).toBe(false);
    expect(afterCommit.branch).toBe('feature');
    expect(afterCommit.tree).not.toBe(before.tree);
    expect((await read()).cached).toBe(true);
    await git(repo.dir, ['checkout', '-q', 'main']);
    const back = await read();
    expect(back.branch).toBe('main');
    expect(back.tree).toBe(before.tree);
  });

  it('sees a staged deletion (the index changed, the files did not come back)', async () => {
    await read();
    expect((await read()).cached).toBe(true);
    await git(repo.dir, ['rm', '-q', '--cached', 'src/a.ts']);
    await fs.appendFile(path.join(repo.dir, '.gitignore'), 'src/a.ts\n');
    const after = await read();
    expect(after.cached).toBe(false);
    expect(after.tree).toBe(await treeIdentity(repo.dir));
  });

  it('sees a verification recorded for the tree', async () => {
    const before = await read();
    expect(before.verification?.verified).toBe(false);
    await recordPassingChecks(repo.dir, repo.privateDir);
    const after = await read();
    expect(after.cached).toBe(true); // the worktree did not change; the records did
    expect(after.verification?.verified).toBe(true);
  });

  it('keeps a value read from refs until a ref moves: a commit, a new remote-tracking branch', async () => {
    let computed = 0;
    const head = () =>
      readByRefsAndRecords(cache, { worktree: repo.dir, privateDirPath: repo.privateDir, branches: ['main'], remote: 'origin' }, async () => {
        computed++;
        return (await git(repo.dir, ['rev-parse', 'HEAD'])).trim();
      });
    const first = await head();
    expect(await head()).toBe(first);
    expect(computed).toBe(1);
    await git(repo.dir, ['commit', '-q', '--allow-empty', '-m', 'next']);
    const second = await head();
    expect(second).not.toBe(first);
    expect(computed).toBe(2);
    await git(repo.dir, ['update-ref', 'refs/remotes/origin/main', first]);
    await head();
    expect(computed).toBe(3);
    await head();
    expect(computed).toBe(3);
  });

  it('never caches a worktree holding a repository of its own', async () => {
    const nested = path.join(repo.dir, 'vendor', 'lib');
    await fs.mkdir(nested, { recursive: true });
    await git(nested, ['init', '-q']);
    await read();
    expect((await read()).cached).toBe(false);
  });
});
