import { createHash } from 'node:crypto';
import type { RuleContext, Rule } from './types.js';

/** Shared shape of the rules' queries: minute buckets over the lookback, hour buckets before it. */

export const MINUTE = 60_000;
export const HOUR = 3_600_000;

export function anomalyId(rule: Rule, subject: Record<string, string | null>): string {
  const key = JSON.stringify([rule, Object.keys(subject).sort().map((k) => [k, subject[k]])]);
  return `an-${createHash('sha1').update(key).digest('hex').slice(0, 12)}`;
}

export function iso(ms: number | Date): string {
  return new Date(ms).toISOString();
}

export interface Frame {
  /** Start of the first minute bucket (minute-aligned), and how many minutes to `at`. */
  recentStart: number;
  minutes: number;
  /** Where the query starts: the lookback, the baseline and the longest test window before `at`. */
  from: number;
  at: number;
  /** Test windows in minutes, shortest first. */
  windows: number[];
}

export function frameOf(ctx: RuleContext): Frame {
  const at = ctx.at.getTime();
  // Hour-aligned, so the hours before it are whole and can be kept between evaluations.
  const recentStart = Math.floor((at - ctx.lookbackMs) / HOUR) * HOUR;
  const minutes = Math.ceil((at - recentStart) / MINUTE);
  const w = Math.max(1, Math.round(ctx.windowMs / MINUTE));
  const windows = [...new Set([w, 3 * w, 6 * w].map((m) => Math.min(m, minutes)))];
  return { recentStart, minutes, from: Math.floor((recentStart - ctx.baselineMs) / HOUR) * HOUR, at, windows };
}

export const HOUR_BUCKET = `(epoch_ms(ts) // ${HOUR}) * ${HOUR}`;
export const MINUTE_BUCKET = `(epoch_ms(ts) // ${MINUTE}) * ${MINUTE}`;

/**
 * Runs an aggregate written with `{B}` (its bucket expression), `$lo` and `$hi` (its time
 * range): hour buckets over the baseline (kept in the cache between evaluations), minute
 * buckets over the lookback. Rules running the same `key` in one evaluation share the rows.
 */
export function bucketRows(ctx: RuleContext, frame: Frame, key: string, template: string, hourGrain = true): Promise<Array<Record<string, unknown>>> {
  const memoKey = `${key}:${frame.at}`;
  const hit = ctx.memo.get(memoKey);
  if (hit) return hit;
  const run = (bucket: string, lo: number, hi: number) => {
    const q = bind(template.replaceAll('{B}', bucket), { lo: new Date(lo), hi: new Date(hi) });
    return ctx.logs.all(q.sql, q.params);
  };
  const older = (lo: number, hi: number) => run(hourGrain ? HOUR_BUCKET : MINUTE_BUCKET, lo, hi);
  const result = (async () => {
    const minutes = (lo: number, hi: number) => run(MINUTE_BUCKET, lo, hi);
    const [past, recent] = await Promise.all([
      ctx.cache ? ctx.cache.hours(key, frame.from, frame.recentStart, older) : older(frame.from, frame.recentStart),
      ctx.cache ? ctx.cache.minutes(key, frame.recentStart, frame.at, minutes) : minutes(frame.recentStart, frame.at),
    ]);
    return [...past, ...recent];
  })();
  ctx.memo.set(memoKey, result);
  return result;
}

/** Replaces $recent/$from/$at by positional parameters in order of appearance. */
export function bind(sql: string, values: Record<string, unknown>): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const out = sql.replace(/\$([a-z_]+)/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`unbound ${name}`);
    params.push(values[name]);
    // A typed parameter: an untyped one keeps DuckDB from skipping the row groups out of range.
    return values[name] instanceof Date ? '?::TIMESTAMP' : '?';
  });
  return { sql: out, params };
}

/** Per-subject series: minute values over the lookback, coarser buckets before it. */
export class Series {
  readonly x: Float64Array;
  readonly n: Float64Array;
  readonly older: Array<{ start: number; end: number; x: number; n: number }> = [];
  constructor(readonly frame: Frame) {
    this.x = new Float64Array(frame.minutes);
    this.n = new Float64Array(frame.minutes);
  }

  add(bucket: number, x: number, n: number): void {
    if (bucket >= this.frame.recentStart) {
      const i = Math.floor((bucket - this.frame.recentStart) / MINUTE);
      if (i >= 0 && i < this.frame.minutes) {
        this.x[i]! += x;
        this.n[i]! += n;
      }
    } else this.older.push({ start: bucket, end: Math.min(bucket + HOUR, this.frame.recentStart), x, n });
  }

  /** Sums over [from, to): whole buckets only. */
  sum(from: number, to: number): { x: number; n: number } {
    let x = 0;
    let n = 0;
    for (const b of this.older) {
      if (b.start >= from && b.end <= to) {
        x += b.x;
        n += b.n;
      }
    }
    for (let i = 0; i < this.frame.minutes; i++) {
      const t = this.frame.recentStart + i * MINUTE;
      if (t >= from && t + MINUTE <= to) {
        x += this.x[i]!;
        n += this.n[i]!;
      }
    }
    return { x, n };
  }

  /** Sums over the last `minutes` minutes. */
  last(minutes: number): { x: number; n: number } {
    let x = 0;
    let n = 0;
    for (let i = Math.max(0, this.frame.minutes - minutes); i < this.frame.minutes; i++) {
      x += this.x[i]!;
      n += this.n[i]!;
    }
    return { x, n };
  }

  minuteTime(i: number): number {
    return this.frame.recentStart + i * MINUTE;
  }

  lastNonZero(): number | null {
    for (let i = this.frame.minutes - 1; i >= 0; i--) if (this.x[i]! > 0) return this.minuteTime(i);
    return null;
  }
}

/** A row's subject columns as one string: cheaper than the subject's JSON, row after row. */
export function rowKey(r: Record<string, unknown>): string {
  return `${r['operation']}\u0001${r['tool_name']}\u0001${r['kind']}\u0001${r['fingerprint']}`;
}

/** Series per subject; `keyOf` may read only the subject columns (operation, tool_name, kind, fingerprint). */
export function seriesBy<K>(frame: Frame, rows: Array<Record<string, unknown>>, keyOf: (r: Record<string, unknown>) => K & object, xCol = 'x', nCol = 'n'): Map<string, { key: K; series: Series }> {
  const out = new Map<string, { key: K; series: Series }>();
  const byRow = new Map<string, { key: K; series: Series }>();
  for (const r of rows) {
    const text = rowKey(r);
    let entry = byRow.get(text);
    if (!entry) {
      const key = keyOf(r);
      const k = JSON.stringify(key);
      entry = out.get(k);
      if (!entry) out.set(k, (entry = { key, series: new Series(frame) }));
      byRow.set(text, entry);
    }
    entry.series.add(Number(r['b']), Number(r[xCol] ?? 0), Number(r[nCol] ?? 0));
  }
  return out;
}

export function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function pct(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '?' : `${Math.round(x * 1000) / 10}%`;
}

/** query_runtime_logs filters for an operation subject: its tool, or its operation. */
export function operationFilter(subject: Record<string, string | null>): Record<string, unknown> {
  return subject['tool_name'] ? { where: [{ path: 'tool_name', equals: subject['tool_name'] }] } : { where: [{ path: 'operation', equals: subject['operation'] }, { path: 'tool_name', exists: false }] };
}

export function fingerprintFilter(subject: Record<string, string | null>): Record<string, unknown> {
  return {
    ...(subject['kind'] ? { kind: subject['kind'] } : {}),
    where: [...(subject['fingerprint'] ? [{ path: 'fingerprint', equals: subject['fingerprint'] }] : []), ...(subject['tool_name'] ? [{ path: 'tool_name', equals: subject['tool_name'] }] : [])],
  };
}

/** Every event per operation and bucket, failures counted: error_rate's data, and the traffic repeated_error scales by. */
export const OPERATIONS_SQL = `SELECT operation, {B} AS b, count(*) AS n, count(*) FILTER (WHERE is_failure) AS x
  FROM logs WHERE ts >= $lo AND ts < $hi AND NOT duplicate GROUP BY ALL`;

/** Failures per fingerprint and bucket (each failure once), with first and last times: repeated_error's and new_error's data. */
export const FAILURES_SQL = `SELECT kind, tool_name, fingerprint, {B} AS b, count(*) AS x, epoch_ms(min(ts)) AS first, epoch_ms(max(ts)) AS last
  FROM logs WHERE ts >= $lo AND ts < $hi AND is_failure AND NOT duplicate GROUP BY ALL`;

/**
 * The two aggregates the error rules share, each read once per evaluation. (One GROUPING SETS
 * pass for both reads the log once but aggregates every event twice, first and last times
 * included: slower than two scans, the second of failures only.)
 */
export async function eventRows(ctx: RuleContext): Promise<{ operations: Array<Record<string, unknown>>; failures: Array<Record<string, unknown>> }> {
  const [operations, failures] = await Promise.all([bucketRows(ctx, frameOf(ctx), 'operations', OPERATIONS_SQL), bucketRows(ctx, failureFrame(ctx), 'failures', FAILURES_SQL)]);
  return { operations, failures };
}

/** The frame the failure rules share: the baseline plus the day in which an error counts as new. */
export function failureFrame(ctx: RuleContext): Frame {
  return frameOf({ ...ctx, baselineMs: ctx.baselineMs + 24 * HOUR });
}

/**
 * The operation subject, read from the `operation` column alone (grouping by one column
 * is half the cost of two): a tool call's operation is `tool:<name>`, its tool.
 */
export const OPERATION_KEY_SQL = `operation`;

export function operationSubject(r: Record<string, unknown>): Record<string, string | null> {
  const operation = str(r['operation']) ?? 'unknown';
  const tool = operation.startsWith('tool:') ? operation.slice(5) : null;
  return { operation: tool ?? operation, tool_name: tool };
}
