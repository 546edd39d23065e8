import { z } from 'zod';
import { defineTool } from './define-tool.js';

export const inputSchema = { worktree: z.string().max(4096).optional() };

export const outputSchema = {
  worktree: z.string(),
  branch: z.string().nullable(),
  head: z.string().nullable(),
  upstream: z.string().nullable(),
  ahead: z.number(),
  behind: z.number(),
  entries: z.array(z.object({ path: z.string(), index: z.string(), worktree: z.string() })),
  truncated: z.boolean(),
  truncated_reason: z.string().nullable().describe('How many changed files were left out, and how to list them all.'),
};

export default defineTool({
  name: 'git_status',
  toolset: 'git',
  title: 'git status',
  description: 'The branch, HEAD, upstream, ahead/behind and changed files (untracked included) of a worktree (default: this session\'s worktree, else the repository).',
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  load: () => import('./handlers/git-status.js'),
});
