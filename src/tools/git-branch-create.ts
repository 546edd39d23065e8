import { z } from 'zod';
import { createBranchWorktree } from '../core/git/branch.js';
import { worktreeOptionsFrom } from '../core/worktree/from-config.js';
import { defineTool } from './define-tool.js';
import { audited } from './_git.js';

export default defineTool({
  name: 'git_branch_create',
  toolset: 'git',
  title: 'Create a branch in its own worktree',
  description:
    "Creates a branch (prefixed selfscope/ by default) from a base (default: the default branch) in a dedicated worktree (under the state directory, or worktree.dir), ready like the main checkout: dependencies linked, submodules checked out, ignored build outputs copied (worktree.copy), TypeScript build info carried over, setup commands run in the sandbox (worktree.setup). Returns the worktree path: do all edits, checks and commits there, never in the bot's live checkout. Refuses an existing branch unless reuse is true; never force-resets.",
  inputSchema: {
    name: z.string().min(1).max(100).describe('e.g. fix-music-queue-skip'),
    base: z.string().max(250).optional(),
    reuse: z.boolean().default(false),
  },
  outputSchema: {
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
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(input, ctx) {
    const { config } = ctx.app;
    const result = await audited(ctx, 'git_branch_create', input, () =>
      createBranchWorktree({
        ...worktreeOptionsFrom(config),
        name: input.name,
        reuse: input.reuse,
        ...(input.base ? { base: input.base } : {}),
      }),
    );
    const p = result.prepared;
    const ready = p
      ? [
          p.dependencies.length ? `dependencies: ${p.dependencies.join(', ')}` : null,
          p.submodules.length ? `submodules: ${p.submodules.join(', ')}` : null,
          p.copied.length ? `copied: ${p.copied.join(', ')}` : null,
          p.build_info.files.length ? `build info: ${p.build_info.files.length} file(s)${p.build_info.fresh ? ' (up to date)' : ''}` : null,
          result.setup.length ? `setup: ${result.setup.length} command(s) passed` : null,
          ...p.skipped.slice(0, 10).map((s) => `skipped ${s}`),
        ].filter((l): l is string => l !== null)
      : [];
    return {
      structured: result,
      text: `${result.created ? 'Created' : 'Reusing'} ${result.branch} from ${result.base} (${result.base_commit.slice(0, 10)}).\nWorktree: ${result.worktree}\n${ready.length ? `${ready.join('\n')}\n` : ''}Edit files there; pass this worktree to run_typecheck, run_tests and git_commit.`,
    };
  },
});
