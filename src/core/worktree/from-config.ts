import type { ResolvedConfig } from '../../config/load.js';
import type { createBranchWorktree } from '../git/branch.js';
import { sandboxedStepRunner } from './setup-steps.js';

type CreateOptions = Parameters<typeof createBranchWorktree>[0];

/**
 * How this repository's configuration makes a branch worktree: the one place that turns
 * `git.*` and `worktree.*` into createBranchWorktree's options, so a worktree made by
 * git_branch_create and one made for a launched session are prepared alike.
 */
export function worktreeOptionsFrom(config: ResolvedConfig): Omit<CreateOptions, 'name' | 'base' | 'reuse'> {
  return {
    repo: config.repo,
    stateDirPath: config.stateDirPath,
    privateDirPath: config.privateDirPath,
    prefix: config.git.branchPrefix,
    remote: config.git.remote,
    ...(config.worktree.dir !== undefined ? { worktreeDir: config.worktree.dir } : {}),
    ...(config.git.defaultBranch ? { defaultBranch: config.git.defaultBranch } : {}),
    prepare: {
      copy: config.worktree.copy,
      setup: config.worktree.setup,
      setupTimeoutS: config.worktree.setupTimeoutS,
      runStep: sandboxedStepRunner({ checks: config.checks, repo: config.repo, stateDirPath: config.stateDirPath, privateDirPath: config.privateDirPath }),
    },
  };
}
