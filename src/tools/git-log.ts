import { z } from 'zod';
import { defineTool } from './define-tool.js';

// git log reads at most this many commits: offset pages within them; until reaches older ones.
export const WINDOW = 200;

export const inputSchema = {
  worktree: z.string().max(4096).optional(),
  since: z.string().max(60).optional(),
  until: z.string().max(60).optional(),
  path: z.string().max(1000).optional(),
  author: z.string().max(200).optional(),
  ref: z.string().max(250).optional().describe('Start from this ref instead of HEAD.'),
  max: z.number().int().min(1).max(WINDOW).default(20).describe('Commits per page; a page is cut shorter when it does not fit in limits.resultBytes.'),
  offset: z.number().int().min(0).max(WINDOW - 1).default(0).describe('Commits to skip: next_offset of the previous page. Commits past the 200 most recent that match: use until.'),
};

export const outputSchema = {
  commits: z.array(
    z.object({
      sha: z.string(),
      author: z.string(),
      date: z.string(),
      subject: z.string(),
      files: z.array(z.object({ path: z.string(), added: z.number().nullable(), deleted: z.number().nullable() })),
      files_total: z.number().describe('files the commit changed, counted up to 100 (the first 20 are listed)'),
    }),
  ),
  truncated: z.boolean().describe('Commits were left out of this page, or files out of a commit.'),
  truncated_reason: z.string().nullable().describe('What was left out, and how to get it.'),
  next_offset: z.number().nullable().describe('offset of the next page; null on the last page.'),
};

export default defineTool({
  name: 'git_log',
  toolset: 'git',
  title: 'git log',
  description: 'Recent commits with the files each changed (the first 20 of each): since/until (git date syntax, e.g. "2 days ago" or ISO), a path, an author; max commits per page (default 20, at most 200), cut shorter to fit limits.resultBytes, and next_offset for the next page.',
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  load: () => import('./handlers/git-log.js'),
});
