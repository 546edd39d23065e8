import { z } from 'zod';
import { defineTool } from './define-tool.js';
import { comparisonSchema } from './_check-schemas.js';

export const inputSchema = {
  worktree: z.string().max(4096).optional(),
  message: z.string().min(1).max(20_000),
  paths: z.array(z.string().max(1000)).max(200).optional().describe('Stage only these (the rest must be unchanged for the tree to be the verified one).'),
};

export const outputSchema = {
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
};

export default defineTool({
  name: 'git_commit',
  toolset: 'git',
  title: 'Commit a verified change',
  description:
    'Commits the worktree (every change, or the given paths) with the message taken literally. Refuses on a protected branch; unless run_typecheck and run_tests both passed on exactly the tree being committed (with checks.gate "no_new_failures": typecheck passed and no test fails that passed on the base, or that the branch adds; the refusal lists them); when the change adds a secret or an .env file; and when it touches security-sensitive paths without a human approval. No argument turns these off.',
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  load: () => import('./handlers/git-commit.js'),
});
