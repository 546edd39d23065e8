import { z } from 'zod';
import { gitStatus } from '../core/git/inspect.js';
import { toolWorktree } from '../server/engines.js';
import { defineTool } from './define-tool.js';

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
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(input, { app }) {
    const worktree = await toolWorktree(app, input.worktree);
    const s = await gitStatus(worktree);
    const text = [`${worktree}: ${s.branch ?? '(detached)'} at ${s.head?.slice(0, 12) ?? '(no commits)'}${s.upstream ? `, ${s.ahead} ahead / ${s.behind} behind ${s.upstream}` : ''}`, ...s.entries.slice(0, 50).map((e) => `${e.index}${e.worktree} ${e.path}`), s.entries.length === 0 ? 'clean' : ''].filter(Boolean);
    return { structured: { worktree, ...s }, text: text.join('\n') };
  },
});
