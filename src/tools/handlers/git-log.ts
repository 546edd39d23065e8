import { gitLog } from '../../core/git/inspect.js';
import { toolWorktree } from '../../server/engines.js';
import { fitItems, fitLines, structuredBudget, textBudget } from './_shared.js';
import type { ToolHandler } from '../define-tool.js';
import { type inputSchema, type outputSchema, WINDOW } from '../git-log.js';

// Files listed per commit; files_total says how many it changed (git_diff mode range shows them all).
const FILES_PER_COMMIT = 20;

export const handler: ToolHandler<typeof inputSchema, typeof outputSchema> = async (input, { app }) => {
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
};

