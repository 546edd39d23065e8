import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GitRunner } from '../git/runner.js';
import { recordKey, sign, verifySignature } from '../state/signing.js';
import { StateStore } from '../state/store.js';
import type { TestCounts } from './parse-results.js';

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
}

export interface Verification {
  tree: string;
  verified: boolean;
  typecheck: VerificationRun | null;
  test: VerificationRun | null;
  missing: CheckName[];
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS verification_runs (
     id VARCHAR PRIMARY KEY, tree VARCHAR NOT NULL, worktree VARCHAR, check_name VARCHAR NOT NULL,
     record JSON NOT NULL, mac VARCHAR NOT NULL, finished_at TIMESTAMP NOT NULL)`,
  'CREATE INDEX IF NOT EXISTS verification_runs_tree ON verification_runs (tree)',
];

export async function recordVerificationRun(stateDirPath: string, run: VerificationRun): Promise<void> {
  const key = await recordKey(stateDirPath);
  const record = JSON.stringify(run);
  await StateStore.inStateDir(stateDirPath).run('verification', SCHEMA, async (conn) => {
    const stmt = await conn.prepare('INSERT OR REPLACE INTO verification_runs VALUES ($1, $2, $3, $4, $5, $6, $7::TIMESTAMP)');
    stmt.bind([run.id, run.tree, run.worktree, run.check, record, sign(key, record), run.finished_at]);
    await stmt.run();
  });
}

async function readRuns(stateDirPath: string, where: string, params: string[]): Promise<VerificationRun[]> {
  const key = await recordKey(stateDirPath);
  const rows = await StateStore.inStateDir(stateDirPath).run('verification', SCHEMA, async (conn) => {
    const stmt = await conn.prepare(`SELECT record::VARCHAR AS record, mac FROM verification_runs ${where} ORDER BY finished_at DESC LIMIT 200`);
    if (params.length) stmt.bind(params);
    return (await stmt.runAndReadAll()).getRowObjectsJS() as Array<{ record: string; mac: string }>;
  });
  const out: VerificationRun[] = [];
  for (const row of rows) {
    if (!verifySignature(key, row.record, row.mac)) continue; // forged or damaged: ignored
    out.push(JSON.parse(row.record) as VerificationRun);
  }
  return out;
}

/** Did typecheck and tests both pass, in their latest runs, on exactly this tree? */
export async function verificationFor(stateDirPath: string, tree: string): Promise<Verification> {
  const runs = await readRuns(stateDirPath, 'WHERE tree = $1', [tree]);
  const latest = (check: CheckName) => runs.find((r) => r.check === check) ?? null;
  const typecheck = latest('typecheck');
  const test = latest('test');
  const missing = (['typecheck', 'test'] as const).filter((c) => {
    const r = c === 'typecheck' ? typecheck : test;
    return !r || !r.ok;
  });
  return { tree, verified: missing.length === 0, typecheck, test, missing };
}

export async function getVerificationRun(stateDirPath: string, id: string): Promise<VerificationRun | null> {
  return (await readRuns(stateDirPath, 'WHERE id = $1', [id]))[0] ?? null;
}
