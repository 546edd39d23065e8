import { z } from 'zod';
import { gitLog } from '../core/git/inspect.js';
import { toolWorktree } from '../server/engines.js';
import { defineTool } from './define-tool.js';

export default defineTool({
  name: 'git_log',
  toolset: 'git',
  title: 'git log',
  description: 'Recent commits with the files each changed: since/until (git date syntax, e.g. "2 days ago" or ISO), a path, an author, max (default 20, at most 200).',
  inputSchema: {
    worktree: z.string().max(4096).optional(),
    since: z.string().max(60).optional(),
    until: z.string().max(60).optional(),
    path: z.string().max(1000).optional(),
    author: z.string().max(200).optional(),
    ref: z.string().max(250).optional().describe('Start from this ref instead of HEAD.'),
    max: z.number().int().min(1).max(200).default(20),
  },
  outputSchema: {
    commits: z.array(z.object({ sha: z.string(), author: z.string(), date: z.string(), subject: z.string(), files: z.array(z.object({ path: z.string(), added: z.number().nullable(), deleted: z.number().nullable() })) })),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(input, { app }) {
    const worktree = await toolWorktree(app, input.worktree);
    const commits = await gitLog(worktree, {
      max: input.max,
      ...(input.since ? { since: input.since } : {}),
      ...(input.until ? { until: input.until } : {}),
      ...(input.path ? { path: input.path } : {}),
      ...(input.author ? { author: input.author } : {}),
      ...(input.ref ? { ref: input.ref } : {}),
    });
    const text = commits.map((c) => `${c.sha.slice(0, 10)} ${c.date.slice(0, 16)} ${c.subject}  (${c.files.length} files: ${c.files.slice(0, 4).map((f) => f.path).join(', ')})`).join('\n') || '(no commits)';
    return { structured: { commits }, text };
  },
});
