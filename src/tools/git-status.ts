import { z } from 'zod';
import { gitStatus } from '../core/git/inspect.js';
import { toolWorktree } from '../server/engines.js';
import { defineTool } from './define-tool.js';
import { fitItems, fitLines, structuredBudget, textBudget } from './_shared.js';

export default defineTool({
  name: 'git_status',
  toolset: 'git',
  title: 'git status',
  description: 'The branch, HEAD, upstream, ahead/behind and changed files (untracked included) of a worktree (default: this session\'s worktree, else the repository).',
  inputSchema: { worktree: z.string().max(4096).optional() },
  outputSchema: {
    worktree: z.string(),
    branch: z.string().nullable(),
    head: z.string().nullable(),
    upstream: z.string().nullable(),
    ahead: z.number(),
    behind: z.number(),
    entries: z.array(z.object({ path: z.string(), index: z.string(), worktree: z.string() })),
    truncated: z.boolean(),
    truncated_reason: z.string().nullable().describe('How many changed files were left out, and how to list them all.'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(input, { app }) {
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
  },
});
