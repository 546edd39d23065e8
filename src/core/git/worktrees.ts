import fs from 'node:fs/promises';
import path from 'node:path';
import { UserInputError } from '../errors.js';
import { GitRunner } from './runner.js';

/** Where selfscope's own worktrees live: one per branch an agent works on. */
export function worktreesRoot(stateDirPath: string): string {
  return path.join(stateDirPath, 'worktrees');
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
 * repository and `<stateDir>/worktrees/<name>`: `..`, symlinks and NUL cannot lead
 * elsewhere, and a worktree must be this repository's own (see {@link checkOwnWorktree}).
 */
export async function resolveWorktree(options: { repo: string; stateDirPath: string; cwd: string; requested?: string | undefined }): Promise<string> {
  const repo = (await real(options.repo)) ?? options.repo;
  const root = (await real(worktreesRoot(options.stateDirPath))) ?? path.resolve(worktreesRoot(options.stateDirPath));
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
