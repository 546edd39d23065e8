import { createBranchWorktree } from '../../core/git/branch.js';
import { worktreeOptionsFrom } from '../../core/worktree/from-config.js';
import { audited } from './_git.js';
import type { ToolHandler } from '../define-tool.js';
import type { inputSchema, outputSchema } from '../git-branch-create.js';

export const handler: ToolHandler<typeof inputSchema, typeof outputSchema> = async (input, ctx) => {
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
};

