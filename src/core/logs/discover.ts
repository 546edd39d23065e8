import fs from 'node:fs/promises';
import path from 'node:path';
import { glob } from 'tinyglobby';

export interface LogFileInfo {
  /** Absolute path. */
  path: string;
  /** Path relative to the repository root (or absolute when outside it). */
  displayPath: string;
  bytes: number;
  modified: string;
  dev: number;
  ino: number;
}

/** Finds the log files the configured globs match, relative to the repository root. */
export async function discoverLogFiles(repo: string, patterns: readonly string[]): Promise<LogFileInfo[]> {
  const matches = await glob([...patterns], {
    cwd: repo,
    absolute: true,
    onlyFiles: true,
    dot: true,
    followSymbolicLinks: true,
    expandDirectories: false,
  });
  const files: LogFileInfo[] = [];
  for (const file of [...new Set(matches)].sort()) {
    try {
      const stat = await fs.stat(file);
      if (!stat.isFile()) continue;
      const rel = path.relative(repo, file);
      files.push({
        path: file,
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
  return files;
}
