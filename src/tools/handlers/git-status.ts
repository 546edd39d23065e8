import { gitStatus } from '../../core/git/inspect.js';
import { toolWorktree } from '../../server/engines.js';
import { fitItems, fitLines, structuredBudget, textBudget } from './_shared.js';
import type { ToolHandler } from '../define-tool.js';
import type { inputSchema, outputSchema } from '../git-status.js';

export const handler: ToolHandler<typeof inputSchema, typeof outputSchema> = async (input, { app }) => {
  const worktree = await toolWorktree(app, input.worktree);
  const s = await gitStatus(worktree);
  const entries = fitItems(s.entries, structuredBudget(app.config.limits.resultBytes, 1024), 1);
  const truncated = s.truncated || entries.length < s.entries.length;
  const truncatedReason = truncated
    ? `${entries.length} of ${s.truncated ? 'more than ' : ''}${s.entries.length} changed files listed (limits.resultBytes); all of them, paged: git_diff with stat_only (untracked files included), or narrow with its paths`
    : null;
  const head = `${worktree}: ${s.branch ?? '(detached)'} at ${s.head?.slice(0, 12) ?? '(no commits)'}${s.upstream ? `, ${s.ahead} ahead / ${s.behind} behind ${s.upstream}` : ''}${truncatedReason ? `\ncut: ${truncatedReason}` : ''}`;
  const text = [head, entries.length === 0 ? 'clean' : fitLines(entries.map((e) => `${e.index}${e.worktree} ${e.path}`), textBudget(app.config.limits.resultBytes))];
  return { structured: { worktree, ...s, entries, truncated, truncated_reason: truncatedReason }, text: text.join('\n') };
};

