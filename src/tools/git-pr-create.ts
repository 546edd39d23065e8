import { z } from 'zod';
import { defineTool } from './define-tool.js';

export const inputSchema = {
  worktree: z.string().max(4096).optional(),
  title: z.string().min(1).max(250),
  summary: z.string().max(10_000).optional().describe('What the change does and why.'),
  anomaly_id: z.string().max(100).regex(/^[\w.:-]+$/, 'an anomaly id from detect_anomalies (letters, digits, _ . : -)').optional(),
  figures: z.string().max(2000).optional().describe('The anomaly\'s figures, e.g. "error rate 45% (15/33) vs 0% baseline".'),
  queries: z.array(z.string().max(4000)).max(10).optional().describe('query_runtime_logs arguments (JSON) that show the evidence.'),
  base: z.string().max(250).optional(),
};

export const outputSchema = {
  kind: z.enum(['github', 'local_proposal']),
  number: z.number().nullable(),
  url: z.string().nullable(),
  updated: z.boolean(),
  pushed: z.boolean(),
  proposal_dir: z.string().nullable(),
  branch: z.string(),
  head: z.string(),
  tree: z.string(),
  local_reason: z.string().nullable().describe('why it is a local proposal (nothing pushed), else null'),
};

export default defineTool({
  name: 'git_pr_create',
  toolset: 'git',
  title: 'Open a pull request with the evidence',
  description:
    "Pushes the worktree's branch and opens a pull request whose body carries the evidence (anomaly, figures, queries), the verification record and the diff stat, and says merging needs a human. One PR per anomaly id (a second call updates it). It pushes only to the configured GitHub repository over https; without a token or a GitHub remote it writes a local proposal (patch + markdown) in the state directory and says why.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  load: () => import('./handlers/git-pr-create.js'),
});
