import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { SealedTable } from '../state/sealed-table.js';
import { runsOnTree, type VerificationRun } from './attestation.js';
import type { OutcomeStatus, TestFailure, TestOutcome } from './parse-results.js';

/**
 * Every test's outcome in a full run, kept so that the commit gate can compare a branch's
 * run with its base's. The list is a signed record of its own (found by run id and tree),
 * and the run's own signed record carries its digest: neither can be edited, forged or
 * swapped for another run's without the gate seeing it.
 */

export interface TestOutcomeRecord {
  run_id: string;
  tree: string;
  /** Whether the run can be compared test by test; when not, why. */
  comparable: boolean;
  not_comparable_reason: string | null;
  /** [id, status] of every test the report listed, in report order. */
  outcomes: Array<[string, OutcomeStatus]>;
  /** Ids that failed in the run and passed when rerun alone. */
  flaky: string[];
  digest: string;
  finished_at: string;
}

const OUTCOMES = new SealedTable<TestOutcomeRecord>('test_outcomes', { run_id: 'run_id', tree: 'tree' });

/** The digest bound into the run record: over the outcome list and the flaky ids. */
export function outcomesDigest(outcomes: ReadonlyArray<readonly [string, OutcomeStatus]>, flaky: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify({ outcomes, flaky })).digest('hex');
}

export function outcomeRecord(input: { runId: string; tree: string; outcomes: readonly TestOutcome[]; flaky: readonly string[]; comparable: string | null; finishedAt: string }): TestOutcomeRecord {
  const outcomes = input.outcomes.map((o): [string, OutcomeStatus] => [o.id, o.status]);
  const flaky = [...input.flaky];
  return {
    run_id: input.runId,
    tree: input.tree,
    comparable: input.comparable === null,
    not_comparable_reason: input.comparable,
    outcomes,
    flaky,
    digest: outcomesDigest(outcomes, flaky),
    finished_at: input.finishedAt,
  };
}

export async function recordTestOutcomes(privateDirPath: string, record: TestOutcomeRecord): Promise<void> {
  await OUTCOMES.insert(privateDirPath, record);
}

/**
 * The outcomes of a recorded run: only when the signed run names this record's digest and
 * size, and the list still hashes to it. Null otherwise (no list kept, or it does not match).
 */
export async function outcomesOfRun(privateDirPath: string, run: VerificationRun): Promise<TestOutcomeRecord | null> {
  if (run.check !== 'test' || !run.outcomes) return null;
  const rows = await OUTCOMES.select(privateDirPath, { run_id: run.id, tree: run.tree }, 5);
  for (const r of rows) {
    if (r.digest !== run.outcomes.digest || r.outcomes.length !== run.outcomes.tests) continue;
    if (outcomesDigest(r.outcomes, r.flaky) !== r.digest) continue;
    return r;
  }
  return null;
}

/** The newest full test run on this tree with a comparable outcome list, if any. */
export async function latestComparableRun(privateDirPath: string, tree: string): Promise<{ run: VerificationRun; outcomes: TestOutcomeRecord } | null> {
  for (const run of (await runsOnTree(privateDirPath, tree, 'test')).slice(0, 20)) {
    // Code that ran outside the sandbox could have reached the record key: its list proves nothing.
    if (run.sandbox !== 'bwrap' && run.sandbox !== 'off') continue;
    const outcomes = await outcomesOfRun(privateDirPath, run);
    if (outcomes?.comparable) return { run, outcomes };
  }
  return null;
}

/** How a failure stands against the base run: new on this tree, failing there too, or flaky here. */
export type FailureMark = 'new' | 'pre_existing' | 'flaky';

/** A run's failures as kept for the run's failures resource: all of them, each with its id. */
export interface RunFailure extends TestFailure {
  id: string;
  mark?: FailureMark;
}

export interface RunFailuresFile {
  run_id: string;
  tree: string;
  /** The base run the marks come from, when one was known. */
  base?: { run_id: string; tree: string; commit: string; branch: string } | null;
  failures: RunFailure[];
}

const RUN_ID = /^run-[a-z0-9]+-[0-9a-f]{6}$/;

function failuresFile(stateDirPath: string, id: string): string {
  return path.join(stateDirPath, 'runs', `${id}.failures.json`);
}

export async function writeRunFailures(stateDirPath: string, file: RunFailuresFile): Promise<void> {
  if (!RUN_ID.test(file.run_id)) return;
  await fs.mkdir(path.join(stateDirPath, 'runs'), { recursive: true, mode: 0o700 });
  const target = failuresFile(stateDirPath, file.run_id);
  const tmp = `${target}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(file), { mode: 0o600 });
  await fs.rename(tmp, target);
}

/** A page of a run's failures; null when the run has no failures file. */
export async function readRunFailures(stateDirPath: string, id: string, offset: number, limit: number): Promise<{ run_id: string; tree: string; base: RunFailuresFile['base']; total: number; offset: number; failures: RunFailure[]; next_offset: number | null } | null> {
  if (!RUN_ID.test(id)) return null;
  let data: RunFailuresFile;
  try {
    data = JSON.parse(await fs.readFile(failuresFile(stateDirPath, id), 'utf8')) as RunFailuresFile;
  } catch {
    return null;
  }
  const all = Array.isArray(data.failures) ? data.failures : [];
  const page = all.slice(offset, offset + limit);
  return { run_id: id, tree: String(data.tree ?? ''), base: data.base ?? null, total: all.length, offset, failures: page, next_offset: offset + page.length < all.length ? offset + page.length : null };
}
