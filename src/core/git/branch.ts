import fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigurationError, ConflictError, UserInputError } from '../errors.js';
import { carryBuildInfo, copyIgnored, emptyReport, initSubmodules, linkDependencies, pruneSubmoduleWorktrees, type PreparationReport } from '../worktree/prepare.js';
import { runSetupSteps, type SetupStepResult, type StepRunner } from '../worktree/setup-steps.js';
import { GitCommandError, GitRunner } from './runner.js';
import { worktreesDir } from './worktrees.js';

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

/**
 * The repository's default branch: configured (git.defaultBranch), else the remote's HEAD,
 * else main or master (when both exist, the one the main checkout is on), else the branch
 * the main checkout is on. Never a name that is not there.
 */
export async function defaultBranch(git: GitRunner, configured: string | undefined, remote: string): Promise<string> {
  if (configured) return configured;
  try {
    const ref = (await git.run(['symbolic-ref', '--quiet', '--short', `refs/remotes/${remote}/HEAD`])).trim();
    if (ref.startsWith(`${remote}/`) && ref.length > remote.length + 1) return ref.slice(remote.length + 1);
  } catch {
    // no remote HEAD
  }
  const present: string[] = [];
  for (const candidate of ['main', 'master']) {
    try {
      await git.run(['rev-parse', '--verify', '--quiet', '--end-of-options', `refs/heads/${candidate}`]);
      present.push(candidate);
    } catch {
      // next
    }
  }
  const checkedOut = await mainCheckoutBranch(git);
  if (present.length === 1) return present[0]!;
  if (present.length === 2) return checkedOut && present.includes(checkedOut) ? checkedOut : present[0]!;
  return checkedOut ?? (await git.run(['symbolic-ref', '--short', 'HEAD'])).trim();
}

/** The branch of the main checkout (the first entry of `git worktree list`), from any of its worktrees. */
async function mainCheckoutBranch(git: GitRunner): Promise<string | null> {
  try {
    const first = (await git.run(['worktree', 'list', '--porcelain', '-z'])).split('\0\0')[0] ?? '';
    const line = first.split('\0').find((l) => l.startsWith('branch refs/heads/'));
    return line ? line.slice('branch refs/heads/'.length) : null;
  } catch {
    return null;
  }
}

/**
 * The ref a base name stands for here: the local branch, tag or commit, else the remote's
 * branch of that name (a deployment may have only `origin/master`). Null when neither exists.
 */
export async function resolveBase(git: GitRunner, base: string, remote: string): Promise<{ ref: string; commit: string } | null> {
  if (!base.trim() || base.startsWith('-') || base.includes('\0')) return null;
  for (const ref of [base, `refs/remotes/${remote}/${base}`]) {
    try {
      return { ref, commit: (await git.run(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`])).trim() };
    } catch {
      // next
    }
  }
  return null;
}

export interface BranchWorktree {
  branch: string;
  worktree: string;
  base: string;
  base_commit: string;
  created: boolean;
  /** What was done to make the worktree work like the main checkout (null when reused as it was). */
  prepared: PreparationReport | null;
  setup: SetupStepResult[];
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

export interface WorktreePreparation {
  /** Ignored paths copied from the main checkout (worktree.copy). */
  copy?: readonly string[];
  /** Commands run in the new worktree (worktree.setup), through `runStep` (the sandbox). */
  setup?: readonly (readonly string[])[];
  setupTimeoutS?: number;
  runStep?: StepRunner;
}

/**
 * Creates `branch` from `base` in a worktree of its own (under `<stateDir>/worktrees/`, or
 * worktree.dir), so the bot's live checkout is never touched. An existing branch is refused
 * unless `reuse`; nothing is ever force-reset. A new worktree is made to work like the main
 * checkout (dependencies, ignored build outputs, submodules, TypeScript build info, setup
 * steps): when any of that fails, the worktree is removed again (and the branch, when this
 * call made it), so no half-made worktree stays registered.
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
  privateDirPath?: string;
  /** worktree.dir as configured; default `<stateDir>/worktrees`. */
  worktreeDir?: string;
  prepare?: WorktreePreparation;
}): Promise<BranchWorktree> {
  const git = new GitRunner(options.repo);
  const branch = await validateBranchName(git, options.name, options.prefix);
  if (options.base !== undefined && (options.base.startsWith('-') || options.base.includes('\0') || !options.base.trim())) {
    throw new UserInputError('A base must be a branch, tag or commit name (not empty, no leading "-").', { hint: 'Omit base to start from the default branch, or name an existing branch.' });
  }
  const base = options.base ?? (await defaultBranch(git, options.defaultBranch, options.remote));
  const resolved = await resolveBase(git, base, options.remote);
  if (!resolved) throw new UserInputError(`The base "${base.slice(0, 80)}" is not a branch, tag or commit here.`, { hint: 'Omit base to start from the default branch, or name an existing branch.' });
  const baseCommit = resolved.commit;
  const root = await worktreesDir({ repo: options.repo, stateDirPath: options.stateDirPath, privateDirPath: options.privateDirPath, dir: options.worktreeDir });
  const slug = branch.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+/, '');
  const worktree = path.join(root, slug);
  let branchExists = true;
  try {
    await git.run(['rev-parse', '--verify', '--quiet', '--end-of-options', `refs/heads/${branch}`]);
  } catch {
    branchExists = false;
  }
  if (branchExists && !options.reuse) {
    throw new ConflictError(`The branch ${branch} exists already.`, { hint: 'Pick another name, or pass reuse: true to work in its worktree.' });
  }
  await fs.mkdir(root, { recursive: true, mode: 0o700 });
  if (branchExists) {
    if (await exists(path.join(worktree, '.git'))) return { branch, worktree: await fs.realpath(worktree), base, base_commit: baseCommit, created: false, prepared: null, setup: [] };
    if (await exists(worktree)) throw new ConflictError(`${worktree} exists already, and is not the branch's worktree.`, { hint: 'Remove that directory (and run git worktree prune), then call git_branch_create with reuse: true again.' });
    await addWorktree(git, ['worktree', 'add', '--end-of-options', worktree, branch], branch);
  } else {
    if (await exists(worktree)) throw new ConflictError(`${worktree} exists already.`, { hint: 'Remove it (git worktree remove) or pick another branch name.' });
    await addWorktree(git, ['worktree', 'add', '-b', branch, '--end-of-options', worktree, baseCommit], branch);
  }
  const real = await fs.realpath(worktree);
  const report = emptyReport();
  try {
    const repoReal = await fs.realpath(options.repo);
    await initSubmodules(repoReal, real, report);
    await linkDependencies(repoReal, real, report);
    await copyIgnored(repoReal, real, options.prepare?.copy ?? [], report);
    await carryBuildInfo(repoReal, real, report, [await fs.realpath(root)]);
    const steps = options.prepare?.setup ?? [];
    let setup: SetupStepResult[] = [];
    if (steps.length > 0) {
      if (!options.prepare?.runStep) throw new ConfigurationError('worktree.setup is set, but no sandbox runner was given to run it.', { hint: 'Create branches through git_branch_create (or pass runStep).' });
      setup = await runSetupSteps(steps, real, options.prepare.runStep, options.prepare.setupTimeoutS ?? 600);
    }
    return { branch, worktree: real, base, base_commit: baseCommit, created: !branchExists, prepared: report, setup };
  } catch (error) {
    await removeWorktree(git, real, options.repo, report.submodules, branchExists ? null : { branch, commit: baseCommit });
    throw error;
  }
}

async function addWorktree(git: GitRunner, args: string[], branch: string): Promise<void> {
  try {
    await git.run(args);
  } catch (error) {
    const said = error instanceof GitCommandError ? error.stderr : '';
    throw new ConflictError(`git could not create the worktree for ${branch.slice(0, 100)}.`, {
      hint: /already (checked out|used by worktree)/.test(said)
        ? 'The branch is checked out in another worktree: work there, or pick another branch name.'
        : 'Check the worktree directory is writable and free (git worktree prune removes stale entries), then try again.',
      details: { git: said.slice(0, 500) },
      cause: error,
    });
  }
}

/** Undoes a worktree this call made: its directory, its entry, and a branch made for it (only if still at its base). */
async function removeWorktree(git: GitRunner, worktree: string, repo: string, submodules: readonly string[], made: { branch: string; commit: string } | null): Promise<void> {
  await fs.rm(worktree, { recursive: true, force: true }).catch(() => {});
  await git.run(['worktree', 'prune']).catch(() => {});
  await pruneSubmoduleWorktrees(repo, submodules);
  if (made) await git.run(['update-ref', '-d', '--end-of-options', `refs/heads/${made.branch}`, made.commit]).catch(() => {});
}
