import { z } from 'zod';
import { createBranchWorktree } from '../core/git/branch.js';
import { defineTool } from './define-tool.js';
import { audited } from './_git.js';

export default defineTool({
  name: 'git_branch_create',
  toolset: 'git',
  title: 'Create a branch in its own worktree',
  description:
    "Creates a branch (prefixed selfscope/ by default) from a base (default: the default branch) in a dedicated worktree under the state directory, and returns the worktree path: do all edits, checks and commits there, never in the bot's live checkout. Refuses an existing branch unless reuse is true; never force-resets.",
  inputSchema: {
    name: z.string().min(1).max(100).describe('e.g. fix-music-queue-skip'),
    base: z.string().max(250).optional(),
    reuse: z.boolean().default(false),
  },
  outputSchema: { branch: z.string(), worktree: z.string(), base: z.string(), base_commit: z.string(), created: z.boolean() },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(input, ctx) {
    const { config } = ctx.app;
    const result = await audited(ctx, 'git_branch_create', input, () =>
      createBranchWorktree({
        repo: config.repo,
        stateDirPath: config.stateDirPath,
        name: input.name,
        reuse: input.reuse,
        prefix: config.git.branchPrefix,
        remote: config.git.remote,
        ...(input.base ? { base: input.base } : {}),
        ...(config.git.defaultBranch ? { defaultBranch: config.git.defaultBranch } : {}),
      }),
    );
    return {
      structured: result,
      text: `${result.created ? 'Created' : 'Reusing'} ${result.branch} from ${result.base} (${result.base_commit.slice(0, 10)}).\nWorktree: ${result.worktree}\nEdit files there; pass this worktree to run_typecheck, run_tests and git_commit.`,
    };
  },
});
