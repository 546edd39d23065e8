import { z } from 'zod';
import { defineTool } from './define-tool.js';

export const inputSchema = {
  name: z.string().min(1).max(100).describe('e.g. fix-music-queue-skip'),
  base: z.string().max(250).optional(),
  reuse: z.boolean().default(false),
};

export const outputSchema = {
  branch: z.string(),
  worktree: z.string(),
  base: z.string(),
  base_commit: z.string(),
  created: z.boolean(),
  prepared: z
    .object({
      dependencies: z.array(z.string()),
      copied: z.array(z.string()),
      submodules: z.array(z.string()),
      build_info: z.object({ files: z.array(z.string()), fresh: z.boolean() }),
      skipped: z.array(z.string()),
    })
    .nullable()
    .describe('What made the new worktree work like the main checkout; null for a worktree reused as it was.'),
  setup: z.array(z.object({ command: z.array(z.string()), exit_code: z.number().nullable(), duration_ms: z.number() })).describe('worktree.setup commands run (all passed).'),
};

export default defineTool({
  name: 'git_branch_create',
  toolset: 'git',
  title: 'Create a branch in its own worktree',
  description:
    "Creates a branch (prefixed selfscope/ by default) from a base (default: the default branch) in a dedicated worktree (under the state directory, or worktree.dir), ready like the main checkout: dependencies linked, submodules checked out, ignored build outputs copied (worktree.copy), TypeScript build info carried over, setup commands run in the sandbox (worktree.setup). Returns the worktree path: do all edits, checks and commits there, never in the bot's live checkout. Refuses an existing branch unless reuse is true; never force-resets.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  load: () => import('./handlers/git-branch-create.js'),
});
