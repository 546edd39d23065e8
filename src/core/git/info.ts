import { GitRunner } from './runner.js';

/** The checked-out branch of `dir`, or null (detached HEAD, or not a git repository). */
export async function currentBranch(dir: string): Promise<string | null> {
  try {
    const name = (await new GitRunner(dir, 10_000).run(['symbolic-ref', '--quiet', '--short', 'HEAD'])).trim();
    return name || null;
  } catch {
    return null;
  }
}
