import fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigurationError, UserInputError } from '../errors.js';
import { GitRunner } from './runner.js';

/** Where selfscope's own worktrees live: one per branch an agent works on. */
export function worktreesRoot(stateDirPath: string): string {
  return path.join(stateDirPath, 'worktrees');
}

export interface WorktreeLocation {
  repo: string;
  stateDirPath: string;
  privateDirPath?: string | undefined;
  /** `worktree.dir` as configured (absolute, or relative to the repository root). */
  dir?: string | undefined;
}

/**
 * The directory selfscope's worktrees are created in: `worktree.dir`, else
 * `<stateDir>/worktrees`. A configured directory must not be in (or hold) the private
 * directory, which checks must never see, nor hold the repository or sit in its git
 * directory; inside the repository it must be ignored by git, or every worktree would show
 * up as a change of the live checkout.
 */
export async function worktreesDir(location: WorktreeLocation): Promise<string> {
  const configured = location.dir;
  if (configured === undefined) return worktreesRoot(location.stateDirPath);
  const bad = (why: string) =>
    new ConfigurationError(`worktree.dir is not usable: ${why}.`, {
      hint: 'Set worktree.dir to a directory of its own outside the private directory, e.g. "../<repo>-worktrees" or an absolute path, or remove it to use <stateDir>/worktrees.',
      details: { dir: configured.slice(0, 300) },
    });
  if (configured.includes('\0') || !configured.trim()) throw bad('it is empty or holds a NUL byte');
  const repo = (await real(location.repo)) ?? path.resolve(location.repo);
  const wanted = path.resolve(repo, configured);
  // The nearest existing ancestor decides where a directory not made yet will really be.
  let probe = wanted;
  let rest = '';
  while ((await real(probe)) === null && path.dirname(probe) !== probe) {
    rest = rest ? path.join(path.basename(probe), rest) : path.basename(probe);
    probe = path.dirname(probe);
  }
  const dir = path.join((await real(probe)) ?? probe, rest);
  if (dir === path.parse(dir).root) throw bad('it is the root directory');
  const privateDir = location.privateDirPath ? ((await real(location.privateDirPath)) ?? path.resolve(location.privateDirPath)) : null;
  if (privateDir && (inside(dir, privateDir) || inside(privateDir, dir))) throw bad('it is inside, or holds, the private directory');
  if (inside(repo, dir)) throw bad('it holds the repository');
  const commonDir = await gitPaths(repo).then((p) => p.commonDir, () => path.join(repo, '.git'));
  if (inside(dir, commonDir) || inside(dir, path.join(repo, '.git'))) throw bad("it is inside the repository's git directory");
  const stateDir = (await real(location.stateDirPath)) ?? path.resolve(location.stateDirPath);
  if (inside(dir, repo) && !inside(dir, stateDir)) {
    const rel = path.relative(repo, dir).split(path.sep).join('/');
    const ignored = await new GitRunner(repo, 10_000).run(['check-ignore', '-q', '--no-index', '--', `${rel}/`]).then(() => true, () => false);
    if (!ignored) throw bad(`it is inside the repository and git does not ignore it (add "/${rel}/" to .gitignore or .git/info/exclude)`);
  }
  return dir;
}

function inside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);
}

async function real(p: string): Promise<string | null> {
  try {
    return await fs.realpath(p);
  } catch {
    return null;
  }
}

async function topLevel(dir: string): Promise<string | null> {
  try {
    return await real((await new GitRunner(dir, 10_000).run(['rev-parse', '--show-toplevel'])).trim());
  } catch (error) {
    // The runner refuses a work tree whose .git does not belong to it: say so, not "not a repository".
    if (error instanceof UserInputError) throw error;
    return null;
  }
}

async function gitPaths(dir: string): Promise<{ gitDir: string; commonDir: string }> {
  const out = (await new GitRunner(dir, 10_000).run(['rev-parse', '--path-format=absolute', '--git-dir', '--git-common-dir'])).split('\n');
  return { gitDir: (await real(out[0]!)) ?? out[0]!, commonDir: (await real(out[1]!)) ?? out[1]! };
}

function notOurs(top: string, why: string, details: Record<string, unknown> = {}): UserInputError {
  return new UserInputError(`This directory is not one of this repository's worktrees: ${why}.`, {
    hint: "Use the worktree git_branch_create returned. If its .git was changed, remove the directory, run git worktree prune, and call git_branch_create with reuse: true.",
    details: { worktree: top, ...details },
  });
}

/**
 * A directory under `<stateDir>/worktrees/` is used only when it is a linked worktree of
 * this repository: its `.git` is a file leading to `<common>/worktrees/<name>` of the
 * repository's own common dir, whose `gitdir` file points back at `<candidate>/.git`. A
 * `.git` leading to another repository, or a `.git` directory (a nested repository), is refused.
 */
export async function checkOwnWorktree(top: string, repoCommonDir: string): Promise<void> {
  const dotGit = path.join(top, '.git');
  const st = await fs.lstat(dotGit).catch(() => null);
  if (!st) throw notOurs(top, 'it has no .git');
  if (st.isDirectory()) throw notOurs(top, 'its .git is a directory (a repository of its own)');
  if (!st.isFile()) throw notOurs(top, 'its .git is not a regular file');
  const pointer = /^gitdir: (.+)$/m.exec(await fs.readFile(dotGit, 'utf8').catch(() => ''));
  const target = pointer ? await real(path.resolve(top, pointer[1]!.trim())) : null;
  if (!target || path.dirname(target) !== path.join(repoCommonDir, 'worktrees')) throw notOurs(top, "its .git leads to a git directory outside this repository's worktree entries", { git_dir: target });
  const back = await fs.readFile(path.join(target, 'gitdir'), 'utf8').catch(() => null);
  if (back === null || (await real(path.resolve(target, back.trim()))) !== (await real(dotGit))) throw notOurs(top, 'its worktree entry belongs to another directory', { git_dir: target });
  const { gitDir, commonDir } = await gitPaths(top);
  if (commonDir !== repoCommonDir || gitDir !== target) throw notOurs(top, "git resolves it to another repository's git directory", { git_dir: gitDir });
}

/**
 * The worktree a check or git tool works in: the one asked for, or the session's own
 * (the directory selfscope was started in, when it is the repository or one of
 * selfscope's worktrees), else the repository root. Confined by realpath to the
 * repository and `<worktrees dir>/<name>` (see {@link worktreesDir}): `..`, symlinks and NUL cannot lead
 * elsewhere, and a worktree must be this repository's own (see {@link checkOwnWorktree}).
 */
export async function resolveWorktree(options: { repo: string; stateDirPath: string; cwd: string; requested?: string | undefined; privateDirPath?: string | undefined; worktreeDir?: string | undefined }): Promise<string> {
  const repo = (await real(options.repo)) ?? options.repo;
  const configured = await worktreesDir({ repo: options.repo, stateDirPath: options.stateDirPath, privateDirPath: options.privateDirPath, dir: options.worktreeDir });
  const root = (await real(configured)) ?? path.resolve(configured);
  let repoCommon: string | null = null;
  const allowed = async (dir: string): Promise<string | null> => {
    let top: string | null;
    try {
      top = await topLevel(dir);
    } catch (error) {
      // A refusal matters for a directory of the repository or of a worktree, not elsewhere.
      const where = (await real(dir)) ?? dir;
      if (inside(where, root) || inside(where, repo)) throw error;
      return null;
    }
    if (!top) return null;
    if (top === repo) return top;
    if (!inside(top, root) || top === root) return null;
    if (path.dirname(top) !== root) throw notOurs(top, 'it is a repository nested inside a worktree');
    repoCommon ??= (await gitPaths(repo)).commonDir;
    await checkOwnWorktree(top, repoCommon);
    return top;
  };
  if (options.requested !== undefined) {
    if (options.requested.includes('\0')) throw new UserInputError('The worktree path contains a NUL byte.', { hint: 'Pass the path git_branch_create returned.' });
    const resolved = await real(path.resolve(repo, options.requested));
    const ok = resolved ? await allowed(resolved) : null;
    if (!ok || !resolved || (resolved !== ok && !inside(resolved, ok))) {
      throw new UserInputError(`"${options.requested.slice(0, 200)}" is not this repository or one of selfscope's worktrees.`, {
        hint: `Pass the repository root or a worktree under ${root} (as returned by git_branch_create), or omit worktree.`,
      });
    }
    return ok;
  }
  return (await allowed(options.cwd)) ?? repo;
}
