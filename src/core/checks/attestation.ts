import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GitRunner } from '../git/runner.js';
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
    await fs.copyFile(realIndex, tmpIndex).catch(() => {});
    const env = { GIT_INDEX_FILE: tmpIndex };
    await git.run(['add', '-A'], { env });
    return (await git.run(['write-tree'], { env })).trim();
  } finally {
    await fs.rm(tmpDir, { recursive: true, force: true });
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

/**
 * Records are signed with a key kept in the state directory (mode 0600), so that a record
 * written by hand into the database is ignored. An agent with a shell as the same OS user
 * can read the key: the boundary against that is the OS (another user, a sandbox).
 */
async function recordKey(stateDirPath: string): Promise<Buffer> {
  const file = path.join(stateDirPath, 'record-key');
  try {
    const key = await fs.readFile(file);
    if (key.length >= 32) return key;
  } catch {
    // first use
  }
  await fs.mkdir(stateDirPath, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, key, { mode: 0o600 });
  try {
    await fs.link(tmp, file); // another process may have created it meanwhile: keep theirs
  } catch {
    // exists
  } finally {
    await fs.rm(tmp, { force: true });
  }
  return fs.readFile(file);
}

function mac(key: Buffer, record: string): string {
  return createHmac('sha256', key).update(record).digest('hex');
}

export async function recordVerificationRun(stateDirPath: string, run: VerificationRun): Promise<void> {
  const key = await recordKey(stateDirPath);
  const record = JSON.stringify(run);
  await StateStore.inStateDir(stateDirPath).run('verification', SCHEMA, async (conn) => {
    const stmt = await conn.prepare('INSERT OR REPLACE INTO verification_runs VALUES ($1, $2, $3, $4, $5, $6, $7::TIMESTAMP)');
    stmt.bind([run.id, run.tree, run.worktree, run.check, record, mac(key, record), run.finished_at]);
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
    const expected = Buffer.from(mac(key, row.record), 'hex');
    const given = Buffer.from(row.mac, 'hex');
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) continue; // forged or damaged: ignored
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
