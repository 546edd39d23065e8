import path from 'node:path';
import { GitRunner } from '../core/git/runner.js';

/**
 * The repository selfscope serves: the main checkout's root, even when started inside a
 * linked worktree, so that every session of one repository shares its logs and state.
 * Returns null outside a git repository.
 */
export async function findRepositoryRoot(cwd: string): Promise<string | null> {
  const git = new GitRunner(cwd, 10_000);
  let commonDir: string;
  try {
    commonDir = (await git.run(['rev-parse', '--path-format=absolute', '--git-common-dir'])).trim();
  } catch {
    return null;
  }
  // A non-bare repository's common dir is `<root>/.git`; a bare one has no work tree.
  if (path.basename(commonDir) === '.git') return path.dirname(commonDir);
  try {
    return (await git.run(['rev-parse', '--show-toplevel'])).trim() || null;
  } catch {
    return null;
  }
}
