import { commitVerified } from '../../core/git/commit.js';
import { toolWorktree } from '../../server/engines.js';
import { askHumanVia, audited } from './_git.js';
import { fitItems, structuredBudget } from './_shared.js';
import { baseOutcomesFor } from './_checks.js';
import type { ToolHandler } from '../define-tool.js';
import type { inputSchema, outputSchema } from '../git-commit.js';

export const handler: ToolHandler<typeof inputSchema, typeof outputSchema> = async (input, ctx) => {
  const worktree = await toolWorktree(ctx.app, input.worktree);
  const result = await audited(ctx, 'git_commit', { worktree, message: input.message.slice(0, 200), paths: input.paths }, () =>
    commitVerified({
      worktree,
      message: input.message,
      privateDirPath: ctx.app.config.privateDirPath,
      git: ctx.app.config.git,
      // Only where configured: a client may answer its own confirmations.
      ...(ctx.app.config.git.elicitationApproves ? { askHuman: askHumanVia(ctx) } : {}),
      ...(input.paths ? { paths: input.paths } : {}),
      gate: ctx.app.config.checks.gate,
      ensureBase: async (base) => (await baseOutcomesFor(ctx, base, true)) ?? { problem: 'it could not be run' },
    }),
  );
  const files = fitItems(result.files, structuredBudget(ctx.app.config.limits.resultBytes, 2048 + JSON.stringify(result.gate).length));
  return {
    structured: { ...result, files, files_total: result.files.length },
    text: `Committed ${result.sha.slice(0, 10)} on ${result.branch}: ${result.files.length} file(s)${files.length < result.files.length ? ` (${files.length} listed; all: git_diff mode "range" with base ${result.parent.slice(0, 12)} and head ${result.sha.slice(0, 12)}, stat_only)` : ''}, tree ${result.tree} (${result.gate.reason}).${result.gate.comparison ? ` Against the base: ${result.gate.comparison.counts.pre_existing} pre-existing failure(s), ${result.gate.comparison.counts.flaky} flaky, ${result.gate.comparison.counts.fixed} fixed${result.gate.comparison.counts.missing ? `, ${result.gate.comparison.counts.missing} no longer run (approved)` : ''}.` : ''}`,
  };
};

