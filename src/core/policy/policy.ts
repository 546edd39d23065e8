import picomatch from 'picomatch';
import { changedBlobs, objectSizes, readBlobs } from '../git/inspect.js';
import type { GitRunner } from '../git/runner.js';
import { findSecrets, type SecretMatch } from '../text/secrets.js';

/**
 * The guardrails of the autonomy boundary that look at a change: protected branches,
 * security-sensitive paths, secrets a change adds. Each returns findings as data; the
 * caller refuses and says why. Findings never carry the secret itself.
 */

export function isProtectedBranch(branch: string, protectedBranches: readonly string[], defaultBranch: string): boolean {
  return branch === defaultBranch || protectedBranches.includes(branch);
}

export function sensitivePaths(paths: readonly string[], globs: readonly string[]): string[] {
  const match = picomatch([...globs], { dot: true });
  return paths.filter((p) => match(p));
}

/**
 * The changed files a package script names (`bun scripts/list-test-files.ts`,
 * `vitest --config ci/vitest.ts`): code the checks run to decide what counts, so changing it
 * needs the same approval as the manifest that names it. Any word of any script that equals
 * a changed path counts; naming too much only asks a human more often.
 */
export function filesNamedByScripts(scripts: Readonly<Record<string, unknown>>, changed: readonly string[]): string[] {
  const words = new Set<string>();
  for (const script of Object.values(scripts)) {
    if (typeof script !== 'string') continue;
    for (const word of script.slice(0, 20_000).match(/[^\s"'`$()=;&|<>]+/g) ?? []) words.add(word.replace(/^(\.\/)+/, ''));
  }
  return changed.filter((file) => words.has(file));
}

export interface SecretFinding {
  file: string;
  line: number;
  kind: string;
}

/** Secrets in the lines a unified diff (`--unified=0`) adds: file and line, never the value. */
export function secretsInDiff(diff: string): SecretFinding[] {
  const findings: SecretFinding[] = [];
  let file = '';
  let line = 0;
  for (const raw of diff.split('\n')) {
    if (raw.startsWith('+++ ')) {
      file = raw.startsWith('+++ b/') ? raw.slice(6) : raw.slice(4);
      continue;
    }
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(raw);
    if (hunk) {
      line = Number(hunk[1]);
      continue;
    }
    if (raw.startsWith('+') && !raw.startsWith('+++')) {
      for (const s of findSecrets(raw.slice(1))) findings.push({ file, line, kind: s.kind });
      line++;
    }
  }
  return findings;
}

/**
 * How much of a change the commit gate reads. A file over `fileBytes` is not committed at
 * all (it could hide a secret past any prefix the scan read); the whole change over
 * `totalBytes` likewise.
 */
export const SECRET_SCAN_LIMITS = { fileBytes: 8 * 1024 * 1024, totalBytes: 64 * 1024 * 1024 } as const;

export interface ChangeScan {
  findings: SecretFinding[];
  /** Files the scan refused to read: over the per-file or total bound. */
  unscanned: Array<{ file: string; bytes: number }>;
}

/**
 * Finds in a file's bytes; text that is UTF-16 (a NUL between characters) is read with its
 * NUL bytes removed as well, so a secret cannot hide in a wide encoding.
 */
function secretsInBytes(bytes: Buffer): Array<SecretMatch & { text: string; line: number }> {
  const text = bytes.toString('latin1');
  const views = bytes.includes(0) ? [text, text.replace(/\0/g, '')] : [text];
  const out: Array<SecretMatch & { text: string; line: number }> = [];
  const fromFirst = new Set<string>();
  views.forEach((view, v) => {
    const newlines: number[] = [];
    for (let i = view.indexOf('\n'); i >= 0; i = view.indexOf('\n', i + 1)) newlines.push(i);
    const lineAt = (offset: number): number => {
      let lo = 0;
      let hi = newlines.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (newlines[mid]! < offset) lo = mid + 1;
        else hi = mid;
      }
      return lo + 1;
    };
    for (const m of findSecrets(view)) {
      const value = view.slice(m.index, m.index + m.length);
      if (v === 0) fromFirst.add(`${m.kind}\0${value}`);
      else if (fromFirst.has(`${m.kind}\0${value}`)) continue;
      out.push({ ...m, text: value, line: lineAt(m.index) });
    }
  });
  return out;
}

/**
 * Secrets a file's new content has that its old content had not (by kind and exact
 * value, counted): what the change adds, not what was there before. File and line only.
 */
export function secretsAdded(file: string, before: Buffer | null, after: Buffer): SecretFinding[] {
  const old = new Map<string, number>();
  for (const m of before ? secretsInBytes(before) : []) old.set(`${m.kind}\0${m.text}`, (old.get(`${m.kind}\0${m.text}`) ?? 0) + 1);
  const findings: SecretFinding[] = [];
  for (const m of secretsInBytes(after)) {
    const key = `${m.kind}\0${m.text}`;
    const left = old.get(key) ?? 0;
    if (left > 0) old.set(key, left - 1);
    else findings.push({ file, line: m.line, kind: m.kind });
  }
  return findings;
}

/**
 * The commit gate's secret scan: reads the content of every file `to` adds or changes
 * against `from`, as bytes from the object store (binary files, `-diff` and `binary`
 * attributes, filters and textconv change nothing), and reports what it adds. Files over
 * the bounds are reported as unscanned, for the caller to refuse.
 */
export async function scanChangeForSecrets(git: GitRunner, from: string, to: string, limits: { fileBytes: number; totalBytes: number } = SECRET_SCAN_LIMITS): Promise<ChangeScan> {
  const changed = await changedBlobs(git, from, to);
  const ids = changed.flatMap((c) => (c.before ? [c.before, c.after] : [c.after]));
  const sizes = await objectSizes(git, ids);
  const unscanned: ChangeScan['unscanned'] = [];
  const toRead: typeof changed = [];
  let total = 0;
  for (const c of changed) {
    const after = sizes.get(c.after) ?? 0;
    const before = c.before ? (sizes.get(c.before) ?? 0) : 0;
    if (after > limits.fileBytes || total + after + Math.min(before, limits.fileBytes) > limits.totalBytes) {
      unscanned.push({ file: c.path, bytes: after });
      continue;
    }
    total += after + Math.min(before, limits.fileBytes);
    toRead.push(c);
  }
  const blobIds = toRead.flatMap((c) => (c.before && (sizes.get(c.before) ?? 0) <= limits.fileBytes ? [c.before, c.after] : [c.after]));
  const blobs = await readBlobs(git, blobIds, total);
  const findings: SecretFinding[] = [];
  for (const c of toRead) {
    const after = blobs.get(c.after);
    if (!after) {
      unscanned.push({ file: c.path, bytes: sizes.get(c.after) ?? 0 });
      continue;
    }
    findings.push(...secretsAdded(c.path, c.before ? (blobs.get(c.before) ?? null) : null, after));
  }
  return { findings, unscanned };
}

/** `.env` files (not `.env.example`-style templates) must never be committed by an agent. */
export function envFiles(paths: readonly string[]): string[] {
  return paths.filter((p) => /(^|\/)\.env(\.[^/]*)?$/.test(p) && !/\.(example|sample|template|dist)$/.test(p));
}
