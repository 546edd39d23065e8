import fs from 'node:fs/promises';
import path from 'node:path';
import { ConflictError, UserInputError } from '../errors.js';
import { GitRunner } from './runner.js';
import { worktreesRoot } from './worktrees.js';

const MAX_BRANCH = 100;

/**
 * Validates a branch name by git's own rules (`check-ref-format --branch`), after refusing
 * what git would take for an option, and adds the configured prefix.
 */
export async function validateBranchName(git: GitRunner, name: string, prefix: string): Promise<string> {
  const trimmed = name.trim();
  if (!trimmed || trimmed.startsWith('-') || /[\0\s~^:?*[\\]/.test(trimmed) || trimmed.length > MAX_BRANCH) {
    throw new UserInputError(`"${trimmed.slice(0, 60)}" is not a usable branch name.`, {
      hint: `Use letters, digits, / - _ . (no leading -, no spaces, at most ${MAX_BRANCH} characters), e.g. fix-music-queue-skip.`,
    });
  }
  const full = prefix && !trimmed.startsWith(prefix) ? `${prefix}${trimmed}` : trimmed;
  try {
    await git.run(['check-ref-format', '--branch', full]);
  } catch {
    throw new UserInputError(`"${full.slice(0, 80)}" is not a valid git branch name.`, { hint: 'Avoid "..", "@{", a trailing "/" or ".lock", and control characters.' });
  }
  return full;
}

/** The branch new work starts from: configured, else the remote's HEAD, else main/master. */
export async function defaultBranch(git: GitRunner, configured: string | undefined, remote: string): Promise<string> {
  if (configured) return configured;
  try {
    const ref = (await git.run(['symbolic-ref', '--quiet', '--short', `refs/remotes/${remote}/HEAD`])).trim();
    if (ref) return ref.slice(remote.length + 1);
  } catch {
    // no remote HEAD
  }
  for (const candidate of ['main', 'master']) {
    try {
      await git.run(['rev-parse', '--verify', '--quiet', '--end-of-options', `refs/heads/${candidate}`]);
      return candidate;
    } catch {
      // next
    }
  }
  return (await git.run(['symbolic-ref', '--short', 'HEAD'])).trim();
}

export interface BranchWorktree {
  branch: string;
  worktree: string;
  base: string;
  base_commit: string;
  created: boolean;
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Creates `branch` from `base` in a worktree of its own under `<stateDir>/worktrees/`, so
 * the bot's live checkout is never touched. An existing branch is refused unless `reuse`;
 * nothing is ever force-reset. The main checkout's node_modules is linked in (when git
 * ignores it there) so the worktree's own typecheck and tests can run at once.
 */
export async function createBranchWorktree(options: {
  repo: string;
  stateDirPath: string;
  name: string;
  base?: string;
  reuse?: boolean;
  prefix: string;
  defaultBranch?: string;
  remote: string;
}): Promise<BranchWorktree> {
  const git = new GitRunner(options.repo);
  const branch = await validateBranchName(git, options.name, options.prefix);
  const base = options.base ?? (await defaultBranch(git, options.defaultBranch, options.remote));
  if (base.startsWith('-')) throw new UserInputError('A base cannot start with "-".', { hint: 'Name a branch, tag or commit.' });
  let baseCommit: string;
  try {
    baseCommit = (await git.run(['rev-parse', '--verify', '--end-of-options', `${base}^{commit}`])).trim();
  } catch {
    throw new UserInputError(`The base "${base.slice(0, 80)}" is not a branch, tag or commit here.`, { hint: 'Omit base to start from the default branch, or name an existing branch.' });
  }
  const slug = branch.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+/, '');
  const worktree = path.join(worktreesRoot(options.stateDirPath), slug);
  let branchExists = true;
  try {
    await git.run(['rev-parse', '--verify', '--quiet', '--end-of-options', `refs/heads/${branch}`]);
  } catch {
    branchExists = false;
  }
  if (branchExists && !options.reuse) {
    throw new ConflictError(`The branch ${branch} exists already.`, { hint: 'Pick another name, or pass reuse: true to work in its worktree.' });
  }
  await fs.mkdir(worktreesRoot(options.stateDirPath), { recursive: true, mode: 0o700 });
  if (branchExists) {
    if (await exists(path.join(worktree, '.git'))) return { branch, worktree: await fs.realpath(worktree), base, base_commit: baseCommit, created: false };
    await git.run(['worktree', 'add', '--end-of-options', worktree, branch]);
  } else {
    if (await exists(worktree)) throw new ConflictError(`${worktree} exists already.`, { hint: 'Remove it (git worktree remove) or pick another branch name.' });
    await git.run(['worktree', 'add', '-b', branch, '--end-of-options', worktree, baseCommit]);
  }
  const real = await fs.realpath(worktree);
  await linkNodeModules(options.repo, real);
  return { branch, worktree: real, base, base_commit: baseCommit, created: !branchExists };
}

async function linkNodeModules(repo: string, worktree: string): Promise<void> {
  const source = path.join(repo, 'node_modules');
  const target = path.join(worktree, 'node_modules');
  if (!(await exists(source)) || (await exists(target))) return;
  try {
    await new GitRunner(worktree).run(['check-ignore', '-q', '--', 'node_modules']);
  } catch {
    return; // not ignored: a link would show up as a change
  }
  await fs.symlink(source, target, 'dir');
}
