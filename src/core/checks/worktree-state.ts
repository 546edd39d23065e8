import path from 'node:path';
import { StatCache } from '../cache/stat-cache.js';
import { currentBranch } from '../git/info.js';
import { refsWatchList, treeWatchList } from '../git/tree-watch.js';
import { StateStore } from '../state/store.js';
import { treeIdentity, verificationFor, type Verification } from './attestation.js';

export interface WorktreeGitState {
  worktree: string;
  /** The branch checked out where the session started (null: detached, or not a repository). */
  branch: string | null;
  /** The tree identity of the worktree (null: not a git tree). */
  tree: string | null;
}

export interface WorktreeState extends WorktreeGitState {
  verification: Verification | null;
  /** Whether the git part came from the cache (nothing it depends on changed). */
  cached: boolean;
}

/** What one process remembers between two status reads (see StatCache). */
export class WorktreeStateCache {
  readonly git: StatCache<WorktreeGitState>;
  readonly verifications: StatCache<Verification>;
  readonly byRefs: StatCache<unknown>;

  constructor(options: { racyMs?: number } = {}) {
    this.git = new StatCache(8, options.racyMs);
    this.verifications = new StatCache(32, options.racyMs);
    this.byRefs = new StatCache(8, options.racyMs);
  }
}

function storeFiles(privateDirPath: string): string[] {
  const store = StateStore.inStateDir(privateDirPath).file;
  return [privateDirPath, store, `${store}.wal`, path.join(privateDirPath, 'record-key')];
}

/**
 * A value computed from the worktree's refs (see refsWatchList) and the private records
 * only — the commit gate's base and its recorded run, say — kept while none of them moved.
 * `compute` must read nothing else.
 */
export async function readByRefsAndRecords<T>(
  cache: WorktreeStateCache,
  options: { worktree: string; privateDirPath: string; branches: readonly string[]; remote: string },
  compute: () => Promise<T>,
): Promise<T> {
  const key = JSON.stringify([options.worktree, options.branches, options.remote]);
  const read = await cache.byRefs.get(key, async () => {
    const value = await compute();
    const refs = await refsWatchList(options.worktree, options.branches, options.remote).catch(() => null);
    return { value, watch: refs ? [...refs, ...storeFiles(options.privateDirPath)] : null };
  });
  return read.value as T;
}

/**
 * The worktree a session works in, its branch, its tree identity and whether that tree is
 * verified: for status reports, which ask often and usually about an unchanged tree. Each
 * part is computed again as soon as a file it depends on changes (an edit, a new file, a
 * commit, a checkout, a recorded check run). The commit gate never reads this: it computes
 * the tree itself.
 */
export async function readWorktreeState(
  cache: WorktreeStateCache,
  options: { cwd: string; privateDirPath: string; resolveWorktree: () => Promise<string> },
): Promise<WorktreeState> {
  const git = await cache.git.get(options.cwd, async () => {
    const worktree = await options.resolveWorktree();
    const [branch, tree] = await Promise.all([currentBranch(options.cwd), treeIdentity(worktree).catch(() => null)]);
    const watch = tree === null ? null : await treeWatchList(worktree, options.cwd).catch(() => null);
    return { value: { worktree, branch, tree }, watch };
  });
  const { tree } = git.value;
  let verification: Verification | null = null;
  if (tree !== null) {
    const read = await cache.verifications.get(tree, async () => ({ value: await verificationFor(options.privateDirPath, tree), watch: storeFiles(options.privateDirPath) }));
    verification = read.value;
  }
  return { ...git.value, verification, cached: git.cached };
}
