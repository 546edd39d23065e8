import { z } from 'zod';
import { gitDiff } from '../core/git/inspect.js';
import { toolWorktree } from '../server/engines.js';
import { defineTool } from './define-tool.js';

export default defineTool({
  name: 'git_diff',
  toolset: 'git',
  title: 'git diff',
  description: "A diff, paged by file and bounded: mode 'working' (the worktree against HEAD, untracked files included), 'staged', or 'range' (base...head). stat_only for the numbers; paths to narrow.",
  inputSchema: {
    worktree: z.string().max(4096).optional(),
    mode: z.enum(['working', 'staged', 'range']).default('working'),
    base: z.string().max(250).optional(),
    head: z.string().max(250).optional(),
    stat_only: z.boolean().default(false),
    paths: z.array(z.string().max(1000)).max(50).optional(),
    page: z.number().int().min(0).default(0),
  },
  outputSchema: {
    worktree: z.string(),
    files: z.array(z.object({ path: z.string(), added: z.number().nullable(), deleted: z.number().nullable(), patch: z.string().optional(), patch_cut_bytes: z.number().optional() })),
    total_files: z.number(),
    page: z.number(),
    next_page: z.number().nullable(),
    stat: z.object({ files: z.number(), added: z.number(), deleted: z.number() }),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(input, { app }) {
    const worktree = await toolWorktree(app, input.worktree);
    const d = await gitDiff(worktree, {
      mode: input.mode,
      statOnly: input.stat_only,
      page: input.page,
      maxPatchBytes: Math.floor(app.config.limits.resultBytes / 25),
      ...(input.base ? { base: input.base } : {}),
      ...(input.head ? { head: input.head } : {}),
      ...(input.paths ? { paths: input.paths } : {}),
    });
    const text = [
      `${d.stat.files} files changed, +${d.stat.added} -${d.stat.deleted}${d.next_page !== null ? ` (page ${d.page}; next: page ${d.next_page})` : ''}`,
      ...d.files.map((f) => (f.patch ? f.patch : `${f.path} +${f.added ?? '?'} -${f.deleted ?? '?'}`)),
    ].join('\n');
    return { structured: { worktree, ...d }, text };
  },
});
