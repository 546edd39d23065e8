import path from 'node:path';
import { UserInputError } from '../../core/errors.js';
import { resolveBase } from '../../core/git/branch.js';
import { gitDiff } from '../../core/git/inspect.js';
import { GitCommandError, GitRunner } from '../../core/git/runner.js';
import { toolWorktree } from '../../server/engines.js';
import { structuredBudget, textBudget } from './_shared.js';
import type { ToolHandler } from '../define-tool.js';
import { type inputSchema, type outputSchema, PER_PAGE_PATCHES, PER_PAGE_STAT } from '../git-diff.js';

// What a file costs on the page besides its patch (path, numbers, keys).
const FILE_OVERHEAD_BYTES = 300;

export const handler: ToolHandler<typeof inputSchema, typeof outputSchema> = async (input, { app }) => {
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
};

