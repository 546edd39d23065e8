import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readRepositoryRoot } from '../../../src/config/discover-root.js';
import { findRepositoryRoot } from '../../../src/config/repo-root.js';
import { createTempRepo, git, type TempRepo } from '../../helpers/temp-repo.js';

const cleanups: Array<() => Promise<void>> = [];
async function repo(): Promise<TempRepo> {
  const r = await createTempRepo({ files: { 'src/deep/a.ts': 'export {};\n' } });
  cleanups.push(r.cleanup);
  return r;
}
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** The file system answer, which must be git's whenever it gives one. */
async function both(cwd: string): Promise<{ read: string | null | undefined; git: string | null }> {
  return { read: await readRepositoryRoot(cwd), git: await findRepositoryRoot(cwd) };
}

describe('readRepositoryRoot', () => {
  it("answers git's root without git for a checkout, a subdirectory and a linked worktree", async () => {
    const { dir } = await repo();
    const worktree = path.join(dir, '.selfscope', 'worktrees', 'side');
    await git(dir, ['worktree', 'add', '-q', '-b', 'side', worktree]);
    for (const cwd of [dir, path.join(dir, 'src', 'deep'), worktree, path.join(worktree, 'src')]) {
      const { read, git: fromGit } = await both(cwd);
      expect(read, cwd).toBe(dir);
      expect(fromGit, cwd).toBe(dir);
    }
  });

  it('answers by real path when started through a symbolic link', async () => {
    const { dir } = await repo();
    const link = `${dir}-link`;
    await fs.symlink(dir, link);
    cleanups.push(() => fs.rm(link, { force: true }));
    const { read, git: fromGit } = await both(path.join(link, 'src'));
    expect(read).toBe(dir);
    expect(fromGit).toBe(dir);
  });

  it('answers null where git finds no repository', async () => {
    const outside = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-norepo-')));
    cleanups.push(() => fs.rm(outside, { recursive: true, force: true }));
    const { read, git: fromGit } = await both(outside);
    // git may stop at a file system boundary on the way up; the file system answer then defers to it.
    if (read !== undefined) expect(read).toBe(fromGit);
    expect(fromGit).toBeNull();
  });

  it('leaves git to decide inside a git directory, and for a submodule-like .git file', async () => {
    const { dir } = await repo();
    expect(await readRepositoryRoot(path.join(dir, '.git'))).toBeUndefined();
    expect(await readRepositoryRoot(path.join(dir, '.git', 'refs'))).toBeUndefined();
    // A .git file leading to a git directory without a commondir (a submodule's, a separate git dir).
    const other = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-sep-')));
    cleanups.push(() => fs.rm(other, { recursive: true, force: true }));
    await git(other, ['init', '-q', '--separate-git-dir', path.join(other, 'gitdir'), path.join(other, 'work')]);
    const { read, git: fromGit } = await both(path.join(other, 'work'));
    expect(read).toBeUndefined();
    expect(fromGit).toBe(path.join(other, 'work'));
  });
});
