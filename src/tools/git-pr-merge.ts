import { z } from 'zod';
import { defineTool } from './define-tool.js';

export const inputSchema = {
  number: z.number().int().min(1),
  method: z.enum(['merge', 'squash', 'rebase']).default('squash'),
};

export const outputSchema = {
  merged: z.boolean(),
  number: z.number(),
  sha: z.string().optional(),
  approval: z.string().optional(),
  approved_via: z.enum(['github_review', 'terminal', 'bot']).optional(),
  approved_by: z.string().optional(),
  status: z.string().optional(),
  what_to_do: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
};

export default defineTool({
  name: 'git_pr_merge',
  toolset: 'git',
  title: 'Merge a pull request (needs a human)',
  description:
    "Merges a pull request only when its head tree passed typecheck and tests here, its GitHub checks are green, and a human approved that head where no agent can answer: an approving GitHub review by a configured approver, `selfscope approve --pr N` typed at a terminal, or an allowed user through the bot. A confirmation in this client never counts. Otherwise returns status approval_required (or checks_*/not_verified) with who can approve and how.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  load: () => import('./handlers/git-pr-merge.js'),
});
