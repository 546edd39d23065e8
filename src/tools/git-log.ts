import { z } from 'zod';
import { gitLog } from '../core/git/inspect.js';
import { toolWorktree } from '../server/engines.js';
import { defineTool } from './define-tool.js';
import { fitItems, fitLines, structuredBudget, textBudget } from './_shared.js';

// git log reads at most this many commits: offset pages within them; until reaches older ones.
const WINDOW = 200;
// Files listed per commit; files_total says how many it changed (git_diff mode range shows them all).
const FILES_PER_COMMIT = 20;

export default defineTool({
  name: 'git_log',
  toolset: 'git',
  title: 'git log',
  description: 'Recent commits with the files each changed (the first 20 of each): since/until (git date syntax, e.g. "2 days ago" or ISO), a path, an author; max commits per page (default 20, at most 200), cut shorter to fit limits.resultBytes, and next_offset for the next page.',
  inputSchema: {
    worktree: z.string().max(4096).optional(),
    since: z.string().max(60).optional(),
    until: z.string().max(60).optional(),
    path: z.string().max(1000).optional(),
    author: z.string().max(200).optional(),
    ref: z.string().max(250).optional().describe('Start from this ref instead of HEAD.'),
    max: z.number().int().min(1).max(WINDOW).default(20).describe('Commits per page; a page is cut shorter when it does not fit in limits.resultBytes.'),
    offset: z.number().int().min(0).max(WINDOW - 1).default(0).describe('Commits to skip: next_offset of the previous page. Commits past the 200 most recent that match: use until.'),
  },
  outputSchema: {
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
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(input, { app }) {
    const worktree = await toolWorktree(app, input.worktree);
    // One more than the page, to know whether there is a next one.
    const read = await gitLog(worktree, {
      max: Math.min(WINDOW, input.offset + input.max + 1),
      ...(input.since ? { since: input.since } : {}),
      ...(input.until ? { until: input.until } : {}),
      ...(input.path ? { path: input.path } : {}),
      ...(input.author ? { author: input.author } : {}),
      ...(input.ref ? { ref: input.ref } : {}),
    });
    const wanted = read.slice(input.offset, input.offset + input.max).map((c) => ({ ...c, files: c.files.slice(0, FILES_PER_COMMIT), files_total: c.files.length }));
    const commits = fitItems(wanted, structuredBudget(app.config.limits.resultBytes, 1024), 1);
    const end = input.offset + commits.length;
    const nextOffset = read.length > end ? end : null;
    // The last of the commits git log reads: there may be older ones.
    const windowEnd = nextOffset === null && read.length === WINDOW && end === WINDOW;
    const last = commits[commits.length - 1];
    const filesCut = commits.filter((c) => c.files_total > c.files.length).length;
    const reasons = [
      nextOffset !== null ? `commits ${input.offset + 1}-${end} shown${commits.length < wanted.length ? ' (the page was cut to fit limits.resultBytes)' : ''}; the next page: offset ${nextOffset}` : null,
      windowEnd && last ? `the ${WINDOW} most recent matching commits end here; older ones: until "${last.date}"` : null,
      filesCut > 0 ? `${filesCut} commit(s) changed more than ${FILES_PER_COMMIT} files (files_total); all of one commit's: git_diff mode "range" with base "<sha>~1" and head "<sha>", stat_only` : null,
    ].filter((r): r is string => r !== null);
    const truncatedReason = reasons.length ? reasons.join('; ') : null;
    const lines = commits.map((c) => `${c.sha.slice(0, 10)} ${c.date.slice(0, 16)} ${c.subject}  (${c.files_total} files: ${c.files.slice(0, 4).map((f) => f.path).join(', ')})`);
    const text = `${lines.length ? fitLines(lines, textBudget(app.config.limits.resultBytes)) : '(no commits)'}${truncatedReason ? `\ncut: ${truncatedReason}` : ''}`;
    return { structured: { commits, truncated: truncatedReason !== null, truncated_reason: truncatedReason, next_offset: nextOffset }, text };
  },
});
