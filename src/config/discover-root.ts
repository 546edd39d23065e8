import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * The repository root as `findRepositoryRoot` (repo-root.ts) finds it, read from the file
 * system instead of asking git: the start path spawns no process. It answers only the
 * ordinary layouts — a checkout with its `.git` directory, a linked worktree whose `.git`
 * file leads to `<root>/.git/worktrees/<name>` — and returns `undefined` for everything
 * git decides by rules of its own (a bare repository or a git directory on the way up, a
 * submodule or separate git directory, a `.git` link, a file system boundary, a
 * repository owned by another user): the caller then asks git.
 * Returns null when no repository is above `cwd`.
 */
export async function readRepositoryRoot(cwd: string): Promise<string | null | undefined> {
  let dir: string;
  try {
    dir = await fs.realpath(cwd);
  } catch {
    return undefined;
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : null;
  let device = (await lstat(dir))?.dev;
  if (device === undefined) return undefined;
  for (;;) {
    const dotGit = path.join(dir, '.git');
    const st = await lstat(dotGit);
    if (st?.isDirectory()) {
      if (!(await looksLikeGitDir(dotGit))) return undefined;
      if (uid !== null && st.uid !== uid) return undefined;
      if (await lstat(path.join(dotGit, 'commondir'))) return undefined;
      return dir;
    }
    if (st?.isFile()) return rootFromGitFile(dir, dotGit, uid);
    if (st) return undefined; // a link or something stranger: git's rules
    if (await looksLikeGitDir(dir)) return undefined; // inside a git directory, or a bare repository
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    const parentDevice = (await lstat(parent))?.dev;
    if (parentDevice !== device) return undefined; // git stops at a file system boundary
    device = parentDevice;
    dir = parent;
  }
}

/** A linked worktree: `.git` says `gitdir: <root>/.git/worktrees/<name>`, whose `commondir` leads back to `<root>/.git`. */
async function rootFromGitFile(dir: string, dotGit: string, uid: number | null): Promise<string | null | undefined> {
  let text: string;
  try {
    text = await fs.readFile(dotGit, 'utf8');
  } catch {
    return undefined;
  }
  const pointer = /^gitdir: (.+)$/.exec(text.split('\n')[0] ?? '');
  if (!pointer) return undefined;
  const gitDir = path.resolve(dir, pointer[1]!.trim());
  let common: string;
  try {
    common = await fs.realpath(path.resolve(gitDir, (await fs.readFile(path.join(gitDir, 'commondir'), 'utf8')).trim()));
  } catch {
    return undefined; // no commondir: a submodule or a separate git directory
  }
  if (path.basename(common) !== '.git' || !(await looksLikeGitDir(common)) || !(await isFile(path.join(gitDir, 'HEAD')))) return undefined;
  const owner = await lstat(common);
  if (!owner || (uid !== null && owner.uid !== uid)) return undefined;
  return path.dirname(common);
}

async function looksLikeGitDir(dir: string): Promise<boolean> {
  const [head, objects, refs] = await Promise.all([lstat(path.join(dir, 'HEAD')), lstat(path.join(dir, 'objects')), lstat(path.join(dir, 'refs'))]);
  return Boolean(head?.isFile() && objects?.isDirectory() && refs?.isDirectory());
}

async function isFile(file: string): Promise<boolean> {
  return (await lstat(file))?.isFile() ?? false;
}

async function lstat(file: string): Promise<Stats | null> {
  try {
    return await fs.lstat(file);
  } catch {
    return null;
  }
}
