import fs from 'node:fs/promises';
import path from 'node:path';
import { glob } from 'tinyglobby';

export interface LogFileInfo {
  /** Absolute real path (symlinks resolved): what is checked is what is opened. */
  path: string;
  /** Path as the glob matched it, relative to the repository root (or absolute when outside it). */
  displayPath: string;
  bytes: number;
  modified: string;
  dev: number;
  ino: number;
}

/** A match that is not read, and why. */
export interface SkippedLogFile {
  /** Path as the glob matched it. */
  path: string;
  reason: 'outside_repository' | 'outside_named_directory';
  /** Where it really is. */
  resolves_to: string;
}

export interface LogDiscovery {
  files: LogFileInfo[];
  skipped: SkippedLogFile[];
}

/** The directory part of a glob before its first wildcard (a plain file path: its directory). */
export function globBase(pattern: string): string {
  const parts = pattern.split('/');
  const fixed: string[] = [];
  for (const part of parts) {
    if (/[*?[\]{}()!]/.test(part)) break;
    fixed.push(part);
  }
  if (fixed.length === parts.length) fixed.pop();
  return fixed.join('/') || (pattern.startsWith('/') ? '/' : '.');
}

/**
 * Whether a glob names a place outside the repository itself (absolute, or climbing out
 * with `..`). Only such a glob lets files outside the repository be read, and only under
 * its own base directory.
 */
export function namesOutsidePlace(repo: string, pattern: string): boolean {
  const base = path.resolve(repo, globBase(pattern));
  return !isInside(repo, base);
}

function isInside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}

async function realpathOrNull(file: string): Promise<string | null> {
  try {
    return await fs.realpath(file);
  } catch {
    return null;
  }
}

/**
 * Finds the log files the configured globs match, confined by real path: a match (or a
 * directory on its way) that is a symlink resolving outside the repository is skipped and
 * reported, unless the glob itself names that outside place (`/var/log/bot/*.ndjson`,
 * `../shared/logs/*.ndjson`), and then only files whose real path is under its base directory.
 */
export async function discoverLogs(repo: string, patterns: readonly string[]): Promise<LogDiscovery> {
  const realRepo = (await realpathOrNull(repo)) ?? path.resolve(repo);
  const allowed = new Map<string, { real: string; shown: string }>();
  const refused = new Map<string, SkippedLogFile>();
  for (const pattern of patterns) {
    const outside = namesOutsidePlace(repo, pattern);
    const root = outside ? await realpathOrNull(path.resolve(repo, globBase(pattern))) : realRepo;
    if (root === null) continue; // its directory does not exist (yet)
    const matches = await glob([pattern], { cwd: repo, absolute: true, onlyFiles: true, dot: true, followSymbolicLinks: true, expandDirectories: false });
    for (const file of matches) {
      if (allowed.has(file)) continue;
      const real = await realpathOrNull(file);
      if (real === null) continue; // vanished, or a dangling link
      if (isInside(root, real)) {
        allowed.set(file, { real, shown: file });
        refused.delete(file);
      } else if (!refused.has(file)) {
        const rel = path.relative(repo, file);
        refused.set(file, {
          path: rel.startsWith('..') || path.isAbsolute(rel) ? file : rel,
          reason: outside ? 'outside_named_directory' : 'outside_repository',
          resolves_to: real,
        });
      }
    }
  }
  const files: LogFileInfo[] = [];
  const seenReal = new Set<string>();
  for (const [file, { real }] of [...allowed.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    // Two links to one file are one log.
    if (seenReal.has(real)) continue;
    seenReal.add(real);
    try {
      const stat = await fs.stat(real);
      if (!stat.isFile()) continue;
      const rel = path.relative(repo, file);
      files.push({
        path: real,
        displayPath: rel.startsWith('..') || path.isAbsolute(rel) ? file : rel,
        bytes: stat.size,
        modified: stat.mtime.toISOString(),
        dev: stat.dev,
        ino: stat.ino,
      });
    } catch {
      // Vanished between glob and stat (rotation): it is picked up on the next look.
    }
  }
  return { files, skipped: [...refused.values()].sort((a, b) => a.path.localeCompare(b.path)) };
}

/** The log files to read (see discoverLogs; skipped matches are left out). */
export async function discoverLogFiles(repo: string, patterns: readonly string[]): Promise<LogFileInfo[]> {
  return (await discoverLogs(repo, patterns)).files;
}
