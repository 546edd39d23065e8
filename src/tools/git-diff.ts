import { z } from 'zod';
import path from 'node:path';
import { UserInputError } from '../core/errors.js';
import { resolveBase } from '../core/git/branch.js';
import { gitDiff } from '../core/git/inspect.js';
import { GitCommandError, GitRunner } from '../core/git/runner.js';
import { toolWorktree } from '../server/engines.js';
import { defineTool } from './define-tool.js';
import { structuredBudget, textBudget } from './_shared.js';

// Files per page by default: with patches, they share the page's bytes; numbers alone are small.
const PER_PAGE_PATCHES = 10;
const PER_PAGE_STAT = 100;
// What a file costs on the page besides its patch (path, numbers, keys).
const FILE_OVERHEAD_BYTES = 300;

export default defineTool({
  name: 'git_diff',
  toolset: 'git',
  title: 'git diff',
  description: "A diff, paged by file and bounded: mode 'working' (the worktree against HEAD, untracked files included), 'staged', or 'range' (base...head). stat_only for the numbers; paths to narrow. The files of a page share limits.resultBytes: per_page 1 with paths gives one file's patch the most room.",
  inputSchema: {
    worktree: z.string().max(4096).optional(),
    mode: z.enum(['working', 'staged', 'range']).default('working'),
    base: z.string().max(250).optional(),
    head: z.string().max(250).optional(),
    stat_only: z.boolean().default(false),
    paths: z.array(z.string().max(1000)).max(50).optional(),
    page: z.number().int().min(0).default(0),
    per_page: z.number().int().min(1).max(PER_PAGE_STAT).optional().describe(`Files per page (default ${PER_PAGE_PATCHES}, or ${PER_PAGE_STAT} with stat_only); each patch gets an equal share of limits.resultBytes.`),
  },
  outputSchema: {
    worktree: z.string(),
    files: z.array(z.object({ path: z.string(), added: z.number().nullable(), deleted: z.number().nullable(), patch: z.string().optional(), patch_cut_bytes: z.number().optional() })),
    total_files: z.number(),
    page: z.number(),
    next_page: z.number().nullable(),
    stat: z.object({ files: z.number(), added: z.number(), deleted: z.number() }),
    truncated_reason: z.string().nullable().describe('Which patches were cut (patch_cut_bytes) and how to see more of them; null when nothing was cut.'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(input, { app }) {
    const worktree = await toolWorktree(app, input.worktree);
    const { resultBytes } = app.config.limits;
    const perPage = input.per_page ?? (input.stat_only ? PER_PAGE_STAT : PER_PAGE_PATCHES);
    const maxPatchBytes = Math.max(512, Math.floor(structuredBudget(resultBytes, 1024 + perPage * FILE_OVERHEAD_BYTES) / perPage));
    const git = new GitRunner(worktree);
    // Refs and paths are checked here, so a wrong one is a refusal that says what to do, not a git failure.
    const ref = async (name: string | undefined, what: 'base' | 'head'): Promise<string | undefined> => {
      if (name === undefined || name === '') return undefined;
      const found = await resolveBase(git, name, app.config.git.remote);
      if (!found) throw new UserInputError(`The ${what} "${name.slice(0, 80)}" is not a branch, tag or commit here.`, { hint: `Name an existing branch or commit${what === 'base' ? ' (e.g. the default branch)' : ', or omit head for HEAD'}.` });
      return found.ref;
    };
    const base = await ref(input.base, 'base');
    const head = await ref(input.head, 'head');
    const paths = input.paths?.map((p) => {
      const inside = path.relative(worktree, path.resolve(worktree, p));
      if (p.includes('\0') || path.isAbsolute(p) || inside.startsWith('..') || path.isAbsolute(inside)) {
        throw new UserInputError(`The path "${p.slice(0, 80)}" is not inside the worktree.`, { hint: 'Give paths relative to the worktree root, e.g. src/queue.ts.' });
      }
      // Literal: a pathspec magic word (":(glob)", ":(attr:...)") is part of the name, never an instruction.
      return `:(literal)${inside || '.'}`;
    });
    let d;
    try {
      d = await gitDiff(worktree, {
        mode: input.mode,
        statOnly: input.stat_only,
        page: input.page,
        perPage,
        maxPatchBytes,
        ...(base ? { base } : {}),
        ...(head ? { head } : {}),
        ...(paths ? { paths } : {}),
      });
    } catch (error) {
      if (!(error instanceof GitCommandError)) throw error;
      throw new UserInputError('git could not produce this diff.', { hint: 'Check mode, base, head and paths (git_status and git_log show what exists), then call again.', details: { git: error.stderr.slice(0, 500) }, cause: error });
    }
    const cut = d.files.filter((f) => f.patch_cut_bytes);
    const truncatedReason = cut.length
      ? `${cut.length} patch(es) cut at ${maxPatchBytes} bytes (patch_cut_bytes): one file alone gets up to ${Math.max(512, structuredBudget(resultBytes, 1024 + FILE_OVERHEAD_BYTES))} bytes with paths [its path] and per_page 1; or read the file in the worktree`
      : null;
    // The text: the numbers of every file on the page, then the patches that fit; structuredContent has them all.
    const lines = [
      `${d.stat.files} files changed, +${d.stat.added} -${d.stat.deleted}; files ${d.page * perPage + 1}-${d.page * perPage + d.files.length} of ${d.total_files}${d.next_page !== null ? ` (next: page ${d.next_page})` : ''}`,
      ...d.files.map((f) => `${f.path} +${f.added ?? '?'} -${f.deleted ?? '?'}${f.patch_cut_bytes ? ` (patch cut: ${f.patch_cut_bytes} bytes)` : ''}`),
      ...(truncatedReason ? [`cut: ${truncatedReason}`] : []),
    ];
    let room = textBudget(resultBytes) - Buffer.byteLength(lines.join('\n'));
    const patches = d.files.filter((f) => f.patch);
    for (const [i, f] of patches.entries()) {
      const size = Buffer.byteLength(f.patch!) + 1;
      if (size > room) {
        lines.push(`(the patches of ${patches.length - i} file(s) from ${f.path} on are in structuredContent: files[].patch)`);
        break;
      }
      room -= size;
      lines.push(f.patch!);
    }
    return { structured: { worktree, ...d, truncated_reason: truncatedReason }, text: lines.join('\n') };
  },
});
