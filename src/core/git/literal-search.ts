import { UserInputError } from '../errors.js';
import { GitCommandError, type GitRunner } from './runner.js';

/**
 * Which tracked files of a commit hold which literal strings, and on which lines: one
 * `git grep -F` over the commit's tree (tracked files only, no pattern language, no work
 * tree), plus the paths themselves. Terms come from logs anyone can write to, so each is a
 * separate `-e` argument (a leading "-" stays a pattern), a control character (NUL, a
 * newline that `-F` would split on) rejects the term, and everything is bounded: the number
 * and size of the terms, the files kept per term, the lines kept per file, git's output
 * and its time.
 */

export interface LiteralSearchLimits {
  /** Terms searched; the rest are reported as not searched. */
  maxTerms: number;
  minTermLength: number;
  maxTermBytes: number;
  /** A term in more files than this points nowhere in particular: reported as too common. */
  maxFilesPerTerm: number;
  /** Line numbers kept per term and file (the count goes on). */
  maxLinesPerFile: number;
  maxOutputBytes: number;
  timeoutMs: number;
}

export const LITERAL_SEARCH_LIMITS: LiteralSearchLimits = {
  maxTerms: 32,
  minTermLength: 6,
  maxTermBytes: 160,
  maxFilesPerTerm: 15,
  maxLinesPerFile: 20,
  maxOutputBytes: 8 * 1024 * 1024,
  timeoutMs: 20_000,
};

export interface TermFile {
  path: string;
  /** Lines holding the term, ascending, at most maxLinesPerFile; empty when only the path holds it. */
  lines: number[];
  /** Lines holding it in all (lines may be cut). */
  line_count: number;
  /** The term is part of the file's path. */
  in_path: boolean;
}

export interface TermResult {
  term: string;
  status: 'found' | 'too_common' | 'absent' | 'rejected' | 'not_searched';
  /** Files holding it (content or path); with too_common, how many there were. */
  file_count: number;
  /** With found: the files (at most maxFilesPerTerm). */
  files: TermFile[];
  /** Why a term was rejected or not searched. */
  note: string | null;
}

export interface LiteralSearchResult {
  commit: string;
  terms: TermResult[];
  /** git's output for all terms at once was too big; terms were counted one by one and the lines of some may be missing. */
  degraded: boolean;
  elapsed_ms: number;
}

const COMMIT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
// \n would split a -F pattern into two; NUL cannot be an argument; the rest has no place in code.
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Why a term is not searched, or null when it may be. */
export function termProblem(term: string, limits: Pick<LiteralSearchLimits, 'minTermLength' | 'maxTermBytes'> = LITERAL_SEARCH_LIMITS): string | null {
  if (CONTROL.test(term)) return 'holds a control character';
  if (term.trim() !== term) return 'starts or ends with white space';
  if (term.length < limits.minTermLength) return `shorter than ${limits.minTermLength} characters`;
  if (Buffer.byteLength(term) > limits.maxTermBytes) return `longer than ${limits.maxTermBytes} bytes`;
  return null;
}

/** The commit a ref names, as its full id (the only form this module passes to git). */
export async function resolveCommit(git: GitRunner, ref: string): Promise<string> {
  if (ref.startsWith('-') || CONTROL.test(ref)) throw new UserInputError('A ref starts with "-" or holds a control character.', { hint: 'Pass a branch, tag or commit id.' });
  const out = (await git.run(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]).catch(() => '')).trim();
  if (!COMMIT_ID.test(out)) throw new UserInputError(`"${ref.slice(0, 60)}" does not name a commit.`, { hint: 'Pass a branch, tag or commit id.' });
  return out;
}

interface Hit {
  lines: Set<number>;
  lineCount: number;
  inPath: boolean;
}

/**
 * Searches `commit` (a full commit id) for each term, literally and case-sensitively.
 * Terms are searched in the order given; those past maxTerms are reported as not searched.
 */
export async function searchLiterals(git: GitRunner, commit: string, terms: readonly string[], overrides: Partial<LiteralSearchLimits> = {}): Promise<LiteralSearchResult> {
  const started = performance.now();
  const limits = { ...LITERAL_SEARCH_LIMITS, ...overrides };
  // The commit id is the one argument git reads as a revision: it can never look like an option.
  if (!COMMIT_ID.test(commit)) throw new UserInputError('The literal search needs a full commit id.', { hint: 'Resolve the ref first (resolveCommit).' });
  const results = new Map<string, TermResult>();
  const searched: string[] = [];
  for (const term of terms) {
    if (results.has(term)) continue;
    const problem = termProblem(term, limits);
    if (problem) results.set(term, { term, status: 'rejected', file_count: 0, files: [], note: problem });
    else if (searched.length >= limits.maxTerms) results.set(term, { term, status: 'not_searched', file_count: 0, files: [], note: `only the first ${limits.maxTerms} terms are searched` });
    else {
      searched.push(term);
      results.set(term, { term, status: 'absent', file_count: 0, files: [], note: null });
    }
  }
  const hits = new Map<string, Map<string, Hit>>(searched.map((t) => [t, new Map()]));
  const hitOf = (term: string, file: string): Hit => {
    const byFile = hits.get(term)!;
    let hit = byFile.get(file);
    if (!hit) byFile.set(file, (hit = { lines: new Set(), lineCount: 0, inPath: false }));
    return hit;
  };
  const timeoutMs = limits.timeoutMs;
  let degraded = false;
  // Terms whose very file list is over the output bound.
  const overflowing = new Set<string>();
  if (searched.length) {
    // Paths: a file named after the operation is about it even where its text never names it.
    const listing = await git.runBytes(['ls-tree', '-r', '-z', '--name-only', '--full-tree', commit], { maxBytes: limits.maxOutputBytes, timeoutMs });
    for (const file of listing.toString('utf8').split('\0')) {
      if (!file) continue;
      for (const term of searched) if (file.includes(term)) hitOf(term, file).inPath = true;
    }
    const grep = async (patterns: readonly string[], mode: '-o' | '-l'): Promise<Buffer> => {
      // `git grep` before 2.44 takes no --end-of-options; every pattern follows its own -e and
      // the revision is a checked commit id, so nothing here can be read as an option.
      const args = ['grep', '--no-color', '--no-textconv', '-I', '-F', '--full-name', '-z', ...(mode === '-o' ? ['-o', '-n'] : ['-l']), ...patterns.flatMap((p) => ['-e', p]), commit, '--'];
      try {
        return await git.runBytes(args, { maxBytes: limits.maxOutputBytes, timeoutMs });
      } catch (error) {
        // Exit code 1: no match.
        if (error instanceof GitCommandError && error.exitCode === 1 && !error.stderr.trim()) return Buffer.alloc(0);
        throw error;
      }
    };
    const prefix = `${commit}:`;
    const fileOf = (name: string) => (name.startsWith(prefix) ? name.slice(prefix.length) : name);
    // A match (-o) is one term, or a longer term that contains others: it counts for each.
    const termsIn = new Map<string, string[]>();
    const record = (out: Buffer, only: ReadonlySet<string> | null) => {
      const text = out.toString('utf8');
      let pos = 0;
      while (pos < text.length) {
        const a = text.indexOf('\0', pos);
        const b = a < 0 ? -1 : text.indexOf('\0', a + 1);
        const c = b < 0 ? -1 : text.indexOf('\n', b + 1);
        if (c < 0) break;
        const file = fileOf(text.slice(pos, a));
        const line = Number(text.slice(a + 1, b));
        const match = text.slice(b + 1, c);
        pos = c + 1;
        let matched = termsIn.get(match);
        if (!matched) termsIn.set(match, (matched = searched.filter((t) => match.includes(t))));
        for (const term of matched) {
          if (only && !only.has(term)) continue;
          const hit = hitOf(term, file);
          if (!hit.lines.has(line)) {
            hit.lineCount++;
            if (hit.lines.size < limits.maxLinesPerFile) hit.lines.add(line);
          }
        }
      }
    };
    try {
      record(await grep(searched, '-o'), null);
    } catch (error) {
      if (!(error instanceof GitCommandError && /wrote more than/.test(error.message))) throw error;
      // Some term is everywhere: count files term by term, then take the lines of the rare ones.
      degraded = true;
      const rare: string[] = [];
      for (const term of searched) {
        let files: string[];
        try {
          files = (await grep([term], '-l')).toString('utf8').split('\0').filter(Boolean).map(fileOf);
        } catch (inner) {
          if (!(inner instanceof GitCommandError && /wrote more than/.test(inner.message))) throw inner;
          overflowing.add(term);
          continue;
        }
        for (const file of files) hitOf(term, file);
        if (hits.get(term)!.size <= limits.maxFilesPerTerm) rare.push(term);
      }
      if (rare.length) {
        try {
          record(await grep(rare, '-o'), new Set(rare));
        } catch (inner) {
          if (!(inner instanceof GitCommandError && /wrote more than/.test(inner.message))) throw inner;
        }
      }
    }
  }
  for (const term of searched) {
    const byFile = hits.get(term)!;
    const result = results.get(term)!;
    result.file_count = byFile.size;
    if (overflowing.has(term)) {
      result.status = 'too_common';
      result.note = 'in too many files to list: too common to point anywhere';
      continue;
    }
    if (byFile.size === 0) continue;
    if (byFile.size > limits.maxFilesPerTerm) {
      result.status = 'too_common';
      result.note = `in ${byFile.size} files: too common to point anywhere`;
      continue;
    }
    result.status = 'found';
    result.files = [...byFile.entries()]
      .map(([path, hit]) => ({ path, lines: [...hit.lines].sort((x, y) => x - y), line_count: hit.lineCount, in_path: hit.inPath }))
      .sort((x, y) => x.path.localeCompare(y.path));
  }
  return { commit, terms: [...results.values()], degraded, elapsed_ms: Math.round(performance.now() - started) };
}
