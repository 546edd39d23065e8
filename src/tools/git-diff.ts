import { z } from 'zod';
import { defineTool } from './define-tool.js';

// Files per page by default: with patches, they share the page's bytes; numbers alone are small.
export const PER_PAGE_PATCHES = 10;
export const PER_PAGE_STAT = 100;

export const inputSchema = {
  worktree: z.string().max(4096).optional(),
  mode: z.enum(['working', 'staged', 'range']).default('working'),
  base: z.string().max(250).optional(),
  head: z.string().max(250).optional(),
  stat_only: z.boolean().default(false),
  paths: z.array(z.string().max(1000)).max(50).optional(),
  page: z.number().int().min(0).default(0),
  per_page: z.number().int().min(1).max(PER_PAGE_STAT).optional().describe(`Files per page (default ${PER_PAGE_PATCHES}, or ${PER_PAGE_STAT} with stat_only); each patch gets an equal share of limits.resultBytes.`),
};

export const outputSchema = {
  worktree: z.string(),
  files: z.array(z.object({ path: z.string(), added: z.number().nullable(), deleted: z.number().nullable(), patch: z.string().optional(), patch_cut_bytes: z.number().optional() })),
  total_files: z.number(),
  page: z.number(),
  next_page: z.number().nullable(),
  stat: z.object({ files: z.number(), added: z.number(), deleted: z.number() }),
  truncated_reason: z.string().nullable().describe('Which patches were cut (patch_cut_bytes) and how to see more of them; null when nothing was cut.'),
};

export default defineTool({
  name: 'git_diff',
  toolset: 'git',
  title: 'git diff',
  description: "A diff, paged by file and bounded: mode 'working' (the worktree against HEAD, untracked files included), 'staged', or 'range' (base...head). stat_only for the numbers; paths to narrow. The files of a page share limits.resultBytes: per_page 1 with paths gives one file's patch the most room.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  load: () => import('./handlers/git-diff.js'),
});
