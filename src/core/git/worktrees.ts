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
  } catch {
    return null;
  }
}

/**
 * The worktree a check or git tool works in: the one asked for, or the session's own
 * (the directory selfscope was started in, when it is the repository or one of
 * selfscope's worktrees), else the repository root. Confined by realpath to the
 * repository and `<stateDir>/worktrees/*`: `..`, symlinks and NUL cannot lead elsewhere.
 */
export async function resolveWorktree(options: { repo: string; stateDirPath: string; cwd: string; requested?: string | undefined }): Promise<string> {
  const repo = (await real(options.repo)) ?? options.repo;
  const root = (await real(worktreesRoot(options.stateDirPath))) ?? path.resolve(worktreesRoot(options.stateDirPath));
  const allowed = async (dir: string): Promise<string | null> => {
    const top = await topLevel(dir);
    if (!top) return null;
    if (top === repo) return top;
    if (inside(top, root) && top !== root) return top;
    return null;
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
