import { UserInputError } from '../errors.js';
import { sanitizeUntrusted } from '../text/bounded.js';
import { treeIdentity } from '../checks/attestation.js';
import { GitRunner } from './runner.js';

/** Read-only views of a worktree: status, log, diff. Every output is bounded. */

export interface StatusEntry {
  path: string;
  index: string;
  worktree: string;
}

export async function gitStatus(worktree: string): Promise<{ branch: string | null; head: string | null; upstream: string | null; ahead: number; behind: number; entries: StatusEntry[]; truncated: boolean }> {
  const git = new GitRunner(worktree);
  // Submodules are never looked into: their own configuration would run their own programs.
  const out = await git.run(['status', '--porcelain=v2', '--branch', '-z', '--untracked-files=all', '--ignore-submodules=all']);
  let branch: string | null = null;
  let head: string | null = null;
  let upstream: string | null = null;
  let ahead = 0;
  let behind = 0;
  const entries: StatusEntry[] = [];
  const parts = out.split('\0');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.startsWith('# branch.head ')) branch = p.slice(14) === '(detached)' ? null : p.slice(14);
    else if (p.startsWith('# branch.oid ')) head = p.slice(13) === '(initial)' ? null : p.slice(13);
    else if (p.startsWith('# branch.upstream ')) upstream = p.slice(18);
    else if (p.startsWith('# branch.ab ')) {
      const m = /\+(\d+) -(\d+)/.exec(p);
      ahead = Number(m?.[1] ?? 0);
      behind = Number(m?.[2] ?? 0);
    } else if (p.startsWith('1 ') || p.startsWith('u ')) {
      const f = p.split(' ');
      entries.push({ index: f[1]![0]!, worktree: f[1]![1]!, path: f.slice(p.startsWith('u ') ? 10 : 8).join(' ') });
    } else if (p.startsWith('2 ')) {
      const f = p.split(' ');
      entries.push({ index: f[1]![0]!, worktree: f[1]![1]!, path: `${parts[i + 1]} -> ${f.slice(9).join(' ')}` });
      i++;
    } else if (p.startsWith('? ')) entries.push({ index: '?', worktree: '?', path: p.slice(2) });
  }
  return { branch, head, upstream, ahead, behind, entries: entries.slice(0, 500), truncated: entries.length > 500 };
}

export interface LogEntry {
  sha: string;
  author: string;
  date: string;
  subject: string;
  files: Array<{ path: string; added: number | null; deleted: number | null }>;
}

const FIELD = '\x1f';
const RECORD = '\x1e';

export async function gitLog(worktree: string, options: { since?: string; until?: string; path?: string; author?: string; max: number; ref?: string }): Promise<LogEntry[]> {
  const git = new GitRunner(worktree);
  const args = ['log', `--max-count=${Math.min(Math.max(options.max, 1), 200)}`, `--format=${RECORD}%H${FIELD}%an <%ae>${FIELD}%aI${FIELD}%s`, '--numstat', '--no-renames', '--no-textconv', '--no-ext-diff', '--ignore-submodules=all'];
  if (options.since) args.push(`--since=${options.since}`);
  if (options.until) args.push(`--until=${options.until}`);
  if (options.author) args.push(`--author=${options.author}`);
  for (const v of [options.since, options.until, options.author, options.ref]) {
    if (v !== undefined && (v.startsWith('-') || v.includes('\0'))) throw new UserInputError('An argument starts with "-" or holds NUL.', { hint: 'Pass plain dates, names and refs.' });
  }
  args.push('--end-of-options', options.ref ?? 'HEAD', '--');
  if (options.path) args.push(options.path);
  let out: string;
  try {
    out = await git.run(args);
  } catch (error) {
    if (/does not have any commits|unknown revision/.test(String(error))) return [];
    throw error;
  }
  return out
    .split(RECORD)
    .filter((r) => r.trim())
    .map((record) => {
      const [header, ...rest] = record.split('\n');
      const [sha, author, date, subject] = header!.split(FIELD);
      const files = rest
        .filter((l) => l.trim())
        .slice(0, 100)
        .map((l) => {
          const [a, d, ...p] = l.split('\t');
          return { path: p.join('\t'), added: a === '-' ? null : Number(a), deleted: d === '-' ? null : Number(d) };
        });
      return { sha: sha!, author: sanitizeUntrusted(author ?? '', 200).text, date: date!, subject: sanitizeUntrusted(subject ?? '', 300).text, files };
    });
}

export interface DiffFile {
  path: string;
  added: number | null;
  deleted: number | null;
  patch?: string;
  patch_cut_bytes?: number;
}

export interface DiffResult {
  files: DiffFile[];
  total_files: number;
  page: number;
  next_page: number | null;
  stat: { files: number; added: number; deleted: number };
}

/**
 * A diff of the worktree against HEAD (`working`), of the index (`staged`), or of a range
 * `base...head`; untracked files count in `working` (as new files). Paged by file.
 */
export async function gitDiff(
  worktree: string,
  options: { mode: 'working' | 'staged' | 'range'; base?: string; head?: string; statOnly?: boolean; paths?: string[]; page?: number; perPage?: number; maxPatchBytes?: number },
): Promise<DiffResult> {
  const git = new GitRunner(worktree);
  for (const v of [options.base, options.head, ...(options.paths ?? [])]) {
    if (v !== undefined && (v.startsWith('-') || v.includes('\0'))) throw new UserInputError(`"${v.slice(0, 60)}" starts with "-" or holds NUL.`, { hint: 'Pass plain refs and paths.' });
  }
  let spec: string[];
  // Options go before --end-of-options; only revisions after it.
  const flags = options.mode === 'staged' ? ['--cached'] : [];
  if (options.mode === 'range') {
    if (!options.base) throw new UserInputError('mode "range" needs base (and optionally head).', { hint: 'e.g. base: "main", head: "selfscope/fix-queue".' });
    spec = [`${options.base}...${options.head ?? 'HEAD'}`];
  } else if (options.mode === 'staged') {
    spec = ['HEAD'];
  } else {
    // Working tree including untracked files: diff HEAD against the tree of everything.
    spec = ['HEAD', await treeIdentity(worktree, git)];
  }
  const paths = options.paths ?? [];
  const numstat = await git.run(['diff', '--no-ext-diff', '--no-textconv', '--ignore-submodules=all', '--numstat', '--no-renames', ...flags, '--end-of-options', ...spec, '--', ...paths]);
  const all = numstat
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [a, d, ...p] = l.split('\t');
      return { path: p.join('\t'), added: a === '-' ? null : Number(a), deleted: d === '-' ? null : Number(d) };
    });
  const stat = { files: all.length, added: all.reduce((n, f) => n + (f.added ?? 0), 0), deleted: all.reduce((n, f) => n + (f.deleted ?? 0), 0) };
  const perPage = options.perPage ?? 20;
  const page = options.page ?? 0;
  const slice = all.slice(page * perPage, (page + 1) * perPage);
  const maxPatch = options.maxPatchBytes ?? 8000;
  const files: DiffFile[] = [];
  for (const f of slice) {
    if (options.statOnly) {
      files.push(f);
      continue;
    }
    const patch = await git.run(['diff', '--no-ext-diff', '--no-textconv', '--ignore-submodules=all', '--no-color', '--no-renames', ...flags, '--end-of-options', ...spec, '--', f.path]);
    const clean = sanitizeUntrusted(patch, maxPatch, { keepNewlines: true });
    files.push({ ...f, patch: clean.text, ...(clean.cutBytes ? { patch_cut_bytes: clean.cutBytes } : {}) });
  }
  return { files, total_files: all.length, page, next_page: (page + 1) * perPage < all.length ? page + 1 : null, stat };
}

export interface ChangedBlob {
  path: string;
  /** The blob before (null for an added file). */
  before: string | null;
  after: string;
}

const FILE_MODES = new Set(['100644', '100755', '120000']);

/**
 * The files (regular, executable, symlink; never a submodule) that `to` adds or changes
 * against `from`, by blob id. Plumbing only: no diff driver, no attribute, no textconv.
 */
export async function changedBlobs(git: GitRunner, from: string, to: string): Promise<ChangedBlob[]> {
  const out = await git.run(['diff-tree', '-r', '-z', '--no-renames', '--no-abbrev', '--end-of-options', from, to, '--']);
  const parts = out.split('\0');
  const blobs: ChangedBlob[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const m = /^:(\d{6}) (\d{6}) ([0-9a-f]+) ([0-9a-f]+) ([A-Z])\d*$/.exec(parts[i]!);
    if (!m) continue;
    const [, oldMode, newMode, oldSha, newSha, status] = m;
    if (status === 'D' || !FILE_MODES.has(newMode!)) continue;
    blobs.push({ path: parts[i + 1]!, before: FILE_MODES.has(oldMode!) && !/^0+$/.test(oldSha!) ? oldSha! : null, after: newSha! });
  }
  return blobs;
}

/** Sizes of objects by id (`cat-file --batch-check`); missing objects are left out. */
export async function objectSizes(git: GitRunner, ids: readonly string[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  if (ids.length === 0) return sizes;
  const out = (await git.runBytes(['cat-file', '--batch-check=%(objectname) %(objecttype) %(objectsize)'], { input: `${ids.join('\n')}\n` })).toString('latin1');
  for (const line of out.split('\n')) {
    const m = /^([0-9a-f]+) blob (\d+)$/.exec(line);
    if (m) sizes.set(m[1]!, Number(m[2]));
  }
  return sizes;
}

/** The raw bytes of blobs (`cat-file --batch`: no filter, no textconv), at most `maxBytes` in all. */
export async function readBlobs(git: GitRunner, ids: readonly string[], maxBytes: number): Promise<Map<string, Buffer>> {
  const blobs = new Map<string, Buffer>();
  const unique = [...new Set(ids)];
  if (unique.length === 0) return blobs;
  const out = await git.runBytes(['cat-file', '--batch'], { input: `${unique.join('\n')}\n`, maxBytes: maxBytes + unique.length * 200 });
  let at = 0;
  while (at < out.length) {
    const eol = out.indexOf(0x0a, at);
    if (eol < 0) break;
    const header = out.subarray(at, eol).toString('latin1');
    at = eol + 1;
    const m = /^([0-9a-f]+) (\S+) (\d+)$/.exec(header);
    if (!m) continue; // "<id> missing"
    const size = Number(m[3]);
    if (m[2] === 'blob') blobs.set(m[1]!, out.subarray(at, at + size));
    at += size + 1;
  }
  return blobs;
}
