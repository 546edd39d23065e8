import { z } from 'zod';
import { commitVerified } from '../core/git/commit.js';
import { toolWorktree } from '../server/engines.js';
import { defineTool } from './define-tool.js';
import { askHumanVia, audited } from './_git.js';
import { fitItems, structuredBudget } from './_shared.js';
import { baseOutcomesFor, comparisonSchema } from './_checks.js';

export default defineTool({
  name: 'git_commit',
  toolset: 'git',
  title: 'Commit a verified change',
  description:
    'Commits the worktree (every change, or the given paths) with the message taken literally. Refuses on a protected branch; unless run_typecheck and run_tests both passed on exactly the tree being committed (with checks.gate "no_new_failures": typecheck passed and no test fails that passed on the base, or that the branch adds; the refusal lists them); when the change adds a secret or an .env file; and when it touches security-sensitive paths without a human approval. No argument turns these off.',
  inputSchema: {
    worktree: z.string().max(4096).optional(),
    message: z.string().min(1).max(20_000),
    paths: z.array(z.string().max(1000)).max(200).optional().describe('Stage only these (the rest must be unchanged for the tree to be the verified one).'),
  },
  outputSchema: {
    sha: z.string(),
    tree: z.string(),
    branch: z.string(),
    parent: z.string(),
    files: z.array(z.string()).describe('the files committed, as many as fit in limits.resultBytes (files_total counts them all; git_diff mode "range" with base parent and head sha lists them)'),
    files_total: z.number(),
    approval: z.string().nullable(),
    gate: z.object({
      mode: z.enum(['strict', 'no_new_failures']),
      reason: z.string().describe('on what grounds the tree was let through'),
      comparison: comparisonSchema
        .nullable()
        .describe('the tree\'s full run against the base\'s, when both are recorded (lists at most 20 each)'),
    }),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(input, ctx) {
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
  },
});
