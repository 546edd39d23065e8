import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GitRunner } from '../git/runner.js';
import { SealedTable } from '../state/sealed-table.js';
import type { TestCounts } from './parse-results.js';
import type { SandboxState } from './sandbox.js';

/**
 * The record of what passed, and on exactly which tree. The commit guardrail reads it:
 * nothing is committed unless typecheck and tests both passed on the tree being committed.
 */

/**
 * The identity of a working tree's exact content, tracked and untracked-not-ignored files
 * alike: `git add -A` into a temporary index (never the real one), then `git write-tree`.
 */
export async function treeIdentity(worktree: string, git: GitRunner = new GitRunner(worktree)): Promise<string> {
  const realIndex = (await git.run(['rev-parse', '--path-format=absolute', '--git-path', 'index'])).trim();
  const tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-tree-'));
  const tmpIndex = path.join(tmpDir, 'index');
  try {
    // Seeding from the real index lets git reuse its stat cache: fast on big trees.
    await seedIndex(realIndex, tmpIndex);
    const env = { GIT_INDEX_FILE: tmpIndex };
    await git.run(['add', '-A'], { env });
    return (await git.run(['write-tree'], { env })).trim();
  } finally {
    await fs.rm(tmpDir, { recursive: true, force: true });
  }
}

/**
 * Copies the real index to seed a temporary one, keeping its timestamps: git decides
 * whether a file that looks unchanged by stat must be re-read ("racy git") by comparing
 * with the index file's own mtime, and a fresh copy's newer mtime would hide an edit made
 * in the same second as the last index write.
 */
export async function seedIndex(realIndex: string, tmpIndex: string): Promise<void> {
  try {
    const stat = await fs.stat(realIndex);
    await fs.copyFile(realIndex, tmpIndex);
    await fs.utimes(tmpIndex, stat.atime, stat.mtime);
  } catch {
    // No index yet (a fresh repository): git builds one from scratch.
  }
}

export type CheckName = 'typecheck' | 'test';

export interface VerificationRun {
  id: string;
  tree: string;
  worktree: string;
  check: CheckName;
  command: string[];
  reason: string;
  ok: boolean;
  exit_code: number | null;
  counts: TestCounts | null;
  tree_changed: boolean;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  /** The sandbox the run had: `unavailable` (bwrap asked for, could not start) never counts as passed. */
  sandbox: SandboxState;
  /** Why the sandbox was unavailable. */
  sandbox_reason: string | null;
  /**
   * A full test run's per-test outcomes, kept in their own signed record: its digest and
   * size, bound here so that record cannot be swapped for another run's (absent: none kept).
   */
  outcomes?: { digest: string; tests: number } | null;
}

export interface Verification {
  tree: string;
  verified: boolean;
  typecheck: VerificationRun | null;
  test: VerificationRun | null;
  missing: CheckName[];
  /** Why each missing check does not count, in one sentence. */
  reasons: Partial<Record<CheckName, string>>;
}

// Found by id or by tree; the check name is part of the decision: all three are bound.
const RUNS = new SealedTable<VerificationRun>('verification_runs', { id: 'id', tree: 'tree', check_name: 'check' });

/** Every verified run record (at most `limit`), any tree: what measuring check times reads. */
export function listVerificationRuns(privateDirPath: string, limit: number): Promise<VerificationRun[]> {
  return RUNS.select(privateDirPath, {}, limit);
}

export async function recordVerificationRun(privateDirPath: string, run: VerificationRun): Promise<void> {
  await RUNS.insert(privateDirPath, run);
}

/** Newest first, by the signed finish time (never by a column a writer could edit). */
async function readRuns(privateDirPath: string, where: Readonly<Record<string, string>>): Promise<VerificationRun[]> {
  const runs = await RUNS.select(privateDirPath, where);
  return runs.sort((a, b) => (a.finished_at < b.finished_at ? 1 : a.finished_at > b.finished_at ? -1 : 0));
}

/** Did typecheck and tests both pass, in their latest runs, on exactly this tree? */
export async function verificationFor(privateDirPath: string, tree: string): Promise<Verification> {
  const runs = await readRuns(privateDirPath, { tree });
  const latest = (check: CheckName) => runs.find((r) => r.check === check) ?? null;
  const typecheck = latest('typecheck');
  const test = latest('test');
  const reasons: Partial<Record<CheckName, string>> = {};
  for (const c of ['typecheck', 'test'] as const) {
    const r = c === 'typecheck' ? typecheck : test;
    if (!r) reasons[c] = 'no run recorded on this tree';
    else if (!r.ok) reasons[c] = 'its latest run did not pass';
    // Test code that ran outside the sandbox could have reached the record key: not proof.
    else if (r.sandbox !== 'bwrap' && r.sandbox !== 'off') reasons[c] = 'its latest run passed outside the sandbox (bwrap could not start); install bubblewrap and run it again';
  }
  const missing = (['typecheck', 'test'] as const).filter((c) => reasons[c] !== undefined);
  return { tree, verified: missing.length === 0, typecheck, test, missing, reasons };
}

/** Every recorded run of `check` on exactly this tree, newest first. */
export async function runsOnTree(privateDirPath: string, tree: string, check: CheckName): Promise<VerificationRun[]> {
  return (await readRuns(privateDirPath, { tree })).filter((r) => r.check === check);
}

export async function getVerificationRun(privateDirPath: string, id: string): Promise<VerificationRun | null> {
  return (await readRuns(privateDirPath, { id }))[0] ?? null;
}
