import fs from 'node:fs/promises';
import path from 'node:path';
import { GitRunner } from '../git/runner.js';

/**
 * Creates the state directory (mode 0700) and, the first time, adds it to the repository's
 * `info/exclude` so that indexes, records and tokens are never committed by accident.
 */
/** Returns the exclude file when it added the line to it, else null. */
export async function ensureStateDir(repo: string, stateDirPath: string): Promise<string | null> {
  await fs.mkdir(stateDirPath, { recursive: true, mode: 0o700 });
  const rel = path.relative(repo, stateDirPath);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return null;
  let commonDir: string;
  try {
    commonDir = (await new GitRunner(repo, 10_000).run(['rev-parse', '--path-format=absolute', '--git-common-dir'])).trim();
  } catch {
    return null; // Not a git repository: nothing to exclude from.
  }
  const excludeFile = path.join(commonDir, 'info', 'exclude');
  const line = `/${rel.split(path.sep).join('/')}/`;
  let current = '';
  try {
    current = await fs.readFile(excludeFile, 'utf8');
  } catch {
    await fs.mkdir(path.dirname(excludeFile), { recursive: true });
  }
  if (current.split(/\r?\n/).includes(line)) return null;
  const prefix = current === '' || current.endsWith('\n') ? '' : '\n';
  await fs.appendFile(excludeFile, `${prefix}# selfscope state (index, records, tokens)\n${line}\n`);
  return excludeFile;
}
