import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GitRunner } from './runner.js';

// Past these sizes stat-ing every file costs about what git does: no list, compute each time.
const MAX_FILES = 50_000;
const MAX_DIRS = 10_000;

/**
 * The files whose stat changes whenever the tree of `worktree` (`git add -A` into a copy of
 * its index, then `git write-tree`) could come out different, or its HEAD name another
 * branch: every file in that tree (tracked, and untracked but not ignored), every directory
 * git does not ignore (a file created in one changes its mtime), the `.git` pointers, HEAD,
 * the index, and the configuration and ignore files git reads. `cwd` is the directory the
 * branch is read from: it must be inside `worktree`.
 *
 * Null when the layout is one this cannot follow: a nested repository or populated
 * submodule (their own HEAD moves the tree), a `.git` it cannot read, `cwd` outside the
 * worktree, or a tree too big to stat cheaply.
 */
export async function treeWatchList(worktree: string, cwd: string, git: GitRunner = new GitRunner(worktree, 10_000)): Promise<string[] | null> {
  const root = await fs.realpath(worktree).catch(() => null);
  const from = await fs.realpath(cwd).catch(() => null);
  if (!root || !from || (from !== root && !from.startsWith(root + path.sep))) return null;
  const gitPaths = await gitFiles(root);
  if (!gitPaths) return null;

  const [inTree, status] = await Promise.all([
    git.run(['ls-files', '-z', '--cached', '--others', '--exclude-standard']),
    // Directories an ignore pattern names itself (`matching`), not those whose files all happen to be ignored.
    git.run(['status', '--porcelain=v1', '-z', '--ignored=matching', '--untracked-files=all', '--ignore-submodules=all']),
  ]);
  const files = inTree.split('\0').filter(Boolean);
  if (files.length > MAX_FILES) return null;
  const ignoredDirs = ignoredDirectories(status);

  // Every directory git does not ignore, breadth first; a `.git` below the top is a repository of its own.
  const dirs = [root];
  for (let i = 0; i < dirs.length; i++) {
    if (dirs.length > MAX_DIRS) return null;
    const dir = dirs[i]!;
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return null;
    }
    for (const entry of entries) {
      if (entry.name === '.git') {
        if (dir !== root) return null;
        continue;
      }
      if (!entry.isDirectory()) continue;
      const full = path.join(dir, entry.name);
      if (!ignoredDirs.has(path.relative(root, full).split(path.sep).join('/'))) dirs.push(full);
    }
  }
  // Between cwd and the top: a `.git` appearing there would move the branch read from cwd.
  const between: string[] = [];
  for (let d = from; d !== root; d = path.dirname(d)) {
    if (await fs.lstat(path.join(d, '.git')).then(() => true, () => false)) return null;
    between.push(d, path.join(d, '.git'));
  }

  const home = os.homedir();
  return [
    ...gitPaths,
    ...between,
    ...dirs,
    ...files.map((f) => path.join(root, f)),
    path.join(home, '.gitconfig'),
    path.join(home, '.config', 'git', 'config'),
    path.join(home, '.config', 'git', 'ignore'),
    path.join(home, '.config', 'git', 'attributes'),
  ];
}

/** The `!! dir/` entries of `git status --porcelain=v1 -z`, without the slash. */
function ignoredDirectories(status: string): Set<string> {
  const dirs = new Set<string>();
  const fields = status.split('\0');
  for (let i = 0; i < fields.length; i++) {
    const entry = fields[i]!;
    const xy = entry.slice(0, 2);
    if (xy === '!!' && entry.endsWith('/')) dirs.add(entry.slice(3, -1));
    if (xy[0] === 'R' || xy[0] === 'C') i++; // a rename or copy is followed by its source path
  }
  return dirs;
}

/** `.git`, the git directory's HEAD, index and config, and the common directory's config and info files; null for an unusual layout. */
async function gitFiles(root: string): Promise<string[] | null> {
  const dirs = await gitDirs(root);
  if (!dirs) return null;
  const { gitDir, commonDir } = dirs;
  return [
    path.join(root, '.git'),
    path.join(gitDir, 'HEAD'),
    path.join(gitDir, 'index'),
    path.join(gitDir, 'config.worktree'),
    path.join(gitDir, 'gitdir'),
    path.join(gitDir, 'commondir'),
    path.join(commonDir, 'config'),
    path.join(commonDir, 'info', 'exclude'),
    path.join(commonDir, 'info', 'attributes'),
  ];
}

/**
 * The files whose stat changes when a ref a base lookup reads could move: HEAD (of the
 * worktree and of the main checkout), the branch HEAD names, the `branches` given, their
 * remote-tracking counterparts and the remote's HEAD, packed refs, a reftable, the config.
 * Null for an unusual layout.
 */
export async function refsWatchList(worktree: string, branches: readonly string[], remote: string): Promise<string[] | null> {
  const root = await fs.realpath(worktree).catch(() => null);
  const dirs = root ? await gitDirs(root) : null;
  if (!dirs) return null;
  const { gitDir, commonDir } = dirs;
  const head = /^ref: refs\/heads\/(.+)$/.exec((await fs.readFile(path.join(gitDir, 'HEAD'), 'utf8').catch(() => '')).trim())?.[1];
  const names = [...new Set([...branches, ...(head ? [head] : [])])].filter((b) => b && !b.includes('..'));
  return [
    path.join(gitDir, 'HEAD'),
    path.join(commonDir, 'HEAD'),
    path.join(commonDir, 'config'),
    path.join(commonDir, 'packed-refs'),
    path.join(commonDir, 'reftable', 'tables.list'),
    path.join(commonDir, 'refs', 'heads'),
    path.join(commonDir, 'refs', 'remotes', remote),
    path.join(commonDir, 'refs', 'remotes', remote, 'HEAD'),
    path.join(commonDir, 'worktrees'),
    ...names.flatMap((b) => [path.join(commonDir, 'refs', 'heads', b), path.join(commonDir, 'refs', 'remotes', remote, b)]),
  ];
}

/** The git directory of the checkout at `root` and the common one it shares; null for an unusual layout. */
async function gitDirs(root: string): Promise<{ gitDir: string; commonDir: string } | null> {
  const dotGit = path.join(root, '.git');
  const st = await fs.lstat(dotGit).catch(() => null);
  if (st?.isDirectory()) return { gitDir: dotGit, commonDir: dotGit };
  if (!st?.isFile()) return null;
  // A linked worktree: `.git` names its git directory, whose commondir names the shared one.
  const pointer = /^gitdir: (.+)$/.exec((await fs.readFile(dotGit, 'utf8').catch(() => '')).split('\n')[0] ?? '');
  if (!pointer) return null;
  const gitDir = path.resolve(root, pointer[1]!.trim());
  const common = await fs.readFile(path.join(gitDir, 'commondir'), 'utf8').catch(() => null);
  if (common === null) return null;
  return { gitDir, commonDir: path.resolve(gitDir, common.trim()) };
}
