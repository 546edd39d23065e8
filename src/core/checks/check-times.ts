import fs from 'node:fs/promises';
import path from 'node:path';
import { listVerificationRuns, type CheckName, type VerificationRun } from './attestation.js';

/**
 * How long this repository's checks take, from the recorded runs, and the tool-call
 * timeouts that fit: a client that ends a call before the check ends loses its result.
 */

export interface MeasuredChecks {
  /** The longest recorded run among the latest ones, in whole seconds. */
  longestS: number;
  check: CheckName;
  runs: number;
}

const LATEST = 20;

/**
 * The longest of the latest recorded runs of each check; null when none is recorded or the
 * state cannot be read now (a running server holds it). Creates nothing: without a record
 * key and a state database there is nothing to measure.
 */
export async function measuredCheckTimes(privateDirPath: string): Promise<MeasuredChecks | null> {
  const present = await Promise.all(['record-key', 'state.duckdb'].map((f) => fs.stat(path.join(privateDirPath, f)).then(() => true, () => false)));
  if (present.includes(false)) return null;
  let runs: VerificationRun[];
  try {
    runs = await listVerificationRuns(privateDirPath, 2000);
  } catch {
    return null;
  }
  let best: MeasuredChecks | null = null;
  for (const check of ['typecheck', 'test'] as const) {
    const latest = runs.filter((r) => r.check === check).sort((a, b) => (a.finished_at < b.finished_at ? 1 : -1)).slice(0, LATEST);
    for (const r of latest) {
      const s = Math.ceil(r.duration_ms / 1000);
      if (!best || s > best.longestS) best = { longestS: s, check, runs: latest.length };
    }
  }
  return best;
}

export interface ToolTimeout {
  seconds: number;
  /** Why this value, in a few words (a config comment). */
  why: string;
}

/**
 * The tool-call timeout for MCP clients: twice the longest measured check and a minute
 * (at least 2 minutes), never more than a check may run (checks.maxTimeoutS) and a minute;
 * without a measurement, that maximum. A call that outlasts it can still pass wait_s.
 */
export function fitToolTimeout(measured: MeasuredChecks | null, maxCheckS: number): ToolTimeout {
  const ceiling = maxCheckS + 60;
  if (!measured) return { seconds: ceiling, why: `a check may run ${maxCheckS} s (checks.maxTimeoutS)` };
  const fit = Math.max(120, measured.longestS * 2 + 60);
  if (fit >= ceiling) return { seconds: ceiling, why: `the longest recorded ${measured.check} took ${measured.longestS} s; capped at checks.maxTimeoutS (${maxCheckS} s) and a minute` };
  return { seconds: fit, why: `the longest recorded ${measured.check} took ${measured.longestS} s: twice that and a minute` };
}
