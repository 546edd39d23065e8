import { discoverLogFiles } from './discover.js';

/**
 * What to say instead of "nothing found" when nothing could be found: no log file matched the
 * configured globs, or the files matched hold no event yet. Null when the index has events.
 */
export async function emptyIndexNotice(index: { freshness(): { events: number } }, repo: string, globs: readonly string[]): Promise<string | null> {
  if (index.freshness().events > 0) return null;
  const files = (await discoverLogFiles(repo, globs).catch(() => [])).length;
  const where = globs.join(', ') || '(no logs configured)';
  return files === 0
    ? `Nothing is indexed: no log file matched ${where}. Check the logs setting (--logs, or logs in the configuration) and selfscope status.`
    : `Nothing is indexed: ${files} log file${files === 1 ? '' : 's'} matched ${where} but hold${files === 1 ? 's' : ''} no event yet.`;
}
