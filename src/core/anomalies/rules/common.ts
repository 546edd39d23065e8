import { createHash } from 'node:crypto';
import type { LogQueryable } from '../../logs/columns.js';
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

// From the microseconds a TIMESTAMP holds: epoch_ms(ts) converts every row first, which costs more than the division.
export const HOUR_BUCKET = `(epoch_us(ts) // ${HOUR * 1000}) * ${HOUR}`;
export const MINUTE_BUCKET = `(epoch_us(ts) // ${MINUTE * 1000}) * ${MINUTE}`;

/** Rows read once per evaluation under `key`: the rules asking for them share one read. */
function once(ctx: RuleContext, key: string, read: () => Promise<Array<Record<string, unknown>>>): Promise<Array<Record<string, unknown>>> {
  let rows = ctx.memo.get(key);
  if (!rows) ctx.memo.set(key, (rows = read()));
  return rows;
}

/**
 * Runs an aggregate written with `{B}` (its bucket expression), `$lo` and `$hi` (its time
 * range): hour buckets over the baseline (kept in the cache between evaluations), minute
 * buckets over the lookback. Rules running the same `key` in one evaluation share the rows.
 */
export function bucketRows(ctx: RuleContext, frame: Frame, key: string, template: string, shape: Shape, hourGrain = true): Promise<Array<Record<string, unknown>>> {
  return once(ctx, `${key}:${frame.at}`, async () => {
    const run = (bucket: string, lo: number, hi: number) => {
      const q = bind(template.replaceAll('{B}', bucket), { lo: new Date(lo), hi: new Date(hi) });
      return packedAll(ctx.logs, q.sql, q.params, shape);
    };
    const older = (lo: number, hi: number) => run(hourGrain ? HOUR_BUCKET : MINUTE_BUCKET, lo, hi);
    const minutes = (lo: number, hi: number) => run(MINUTE_BUCKET, lo, hi);
    const [past, recent] = await Promise.all([
      ctx.cache ? ctx.cache.hours(key, frame.from, frame.recentStart, older) : older(frame.from, frame.recentStart),
      ctx.cache ? ctx.cache.minutes(key, frame.recentStart, frame.at, minutes) : minutes(frame.recentStart, frame.at),
    ]);
    return [...past, ...recent];
  });
}

/** An aggregate's row: its key columns (any type), then its numbers. */
export interface Shape {
  keys: readonly string[];
  values: readonly string[];
}

const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Runs an aggregate of `shape`, its rows packed by DuckDB into one row per key (the key's
 * values in a list) and unpacked here into the aggregate's own rows, in no particular order:
 * converting a row object per bucket out of DuckDB costs more than the query itself.
 */
export async function packedAll(logs: LogQueryable, sql: string, params: readonly unknown[], shape: Shape): Promise<Array<Record<string, unknown>>> {
  const items = shape.values.map((v) => `${quoted(v)}: ${quoted(v)}::DOUBLE`).join(', ');
  const rows = await logs.all(`SELECT ${shape.keys.map(quoted).join(', ')}, list({${items}}) AS "__rows" FROM (${sql}) GROUP BY ALL`, params);
  const out: Array<Record<string, unknown>> = [];
  for (const r of rows) {
    for (const item of r['__rows'] as Array<Record<string, unknown>>) {
      const row: Record<string, unknown> = {};
      for (const k of shape.keys) row[k] = r[k];
      for (const v of shape.values) row[v] = Number(item[v]);
      out.push(row);
    }
  }
  return out;
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

  /** A bucket before the lookback is an hour unless its `end` says otherwise. */
  add(bucket: number, x: number, n: number, end?: number): void {
    if (bucket >= this.frame.recentStart) {
      const i = Math.floor((bucket - this.frame.recentStart) / MINUTE);
      if (i >= 0 && i < this.frame.minutes) {
        this.x[i]! += x;
        this.n[i]! += n;
      }
    } else this.older.push({ start: bucket, end: Math.min(end ?? bucket + HOUR, this.frame.recentStart), x, n });
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
  for (const [k, { key, series }] of seriesByColumns(frame, rows, keyOf, [xCol], nCol)) out.set(k, { key, series: series[0]! });
  return out;
}

/** seriesBy for several counts of the same rows (one series per column in `xCols`), in one pass. */
export function seriesByColumns<K>(frame: Frame, rows: Array<Record<string, unknown>>, keyOf: (r: Record<string, unknown>) => K & object, xCols: string[], nCol = 'n'): Map<string, { key: K; series: Series[] }> {
  const out = new Map<string, { key: K; series: Series[] }>();
  const byRow = new Map<string, { key: K; series: Series[] }>();
  for (const r of rows) {
    const text = rowKey(r);
    let entry = byRow.get(text);
    if (!entry) {
      const key = keyOf(r);
      const k = JSON.stringify(key);
      entry = out.get(k);
      if (!entry) out.set(k, (entry = { key, series: xCols.map(() => new Series(frame)) }));
      byRow.set(text, entry);
    }
    const b = Number(r['b']);
    const n = Number(r[nCol] ?? 0);
    const end = bucketEnd(r);
    for (let c = 0; c < xCols.length; c++) entry.series[c]!.add(b, Number(r[xCols[c]!] ?? 0), n, end);
  }
  return out;
}

/** A row's bucket end when it is not the hour after its start (see operationRows). */
export function bucketEnd(r: Record<string, unknown>): number | undefined {
  return r['e'] === undefined || r['e'] === null ? undefined : Number(r['e']);
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

export const OPERATIONS_SHAPE: Shape = { keys: ['operation'], values: ['b', 'n', 'x'] };

/** Failures per fingerprint and bucket (each failure once), with first and last times: repeated_error's and new_error's data. */
export const FAILURES_SQL = `SELECT kind, tool_name, fingerprint, {B} AS b, count(*) AS x, epoch_ms(min(ts)) AS first, epoch_ms(max(ts)) AS last
  FROM logs WHERE ts >= $lo AND ts < $hi AND is_failure AND NOT duplicate GROUP BY ALL`;
export const FAILURES_SHAPE: Shape = { keys: ['kind', 'tool_name', 'fingerprint'], values: ['b', 'x', 'first', 'last'] };

/**
 * The two aggregates the error rules share, each read once per evaluation. (One GROUPING SETS
 * pass for both reads the log once but aggregates every event twice, first and last times
 * included: slower than two scans, the second of failures only.)
 */
export async function eventRows(ctx: RuleContext): Promise<{ operations: Array<Record<string, unknown>>; failures: Array<Record<string, unknown>> }> {
  const frame = frameOf(ctx);
  const [operations, failures] = await Promise.all([ctx.cache ? bucketRows(ctx, frame, 'operations', OPERATIONS_SQL, OPERATIONS_SHAPE) : operationRows(ctx, frame), bucketRows(ctx, failureFrame(ctx), 'failures', FAILURES_SQL, FAILURES_SHAPE)]);
  return { operations, failures };
}

/** The baseline latency quantiles latency_regression reads. */
export const LATENCY_QUANTILES = [0.5, 0.95, 0.99] as const;

/**
 * A large baseline's latency quantiles are read from a fixed sample of its events, one in
 * SAMPLE_EVERY (by a hash of the time: the same events at every evaluation, whatever their
 * latency), when that sample holds at least SAMPLE_MIN latencies (a baseline of about
 * 33,000). Of 8,192 values, the share of the baseline above the sample p95 is 5% ± 0.48
 * points (two standard errors), above the p99 1% ± 0.22, above the p50 50% ± 1.1: the
 * rule's findings also need a quarter of the calls above the p95, or 5% above `factor`
 * times it, which no such error makes. Exact quantiles of every event cost most of a scan
 * of the week; smaller baselines still get them.
 */
export const SAMPLE_EVERY = 4;
export const SAMPLE_MIN = 8192;

/**
 * Per operation over the baseline hours [from, recentStart), in one scan: its events and
 * failures (error_rate's and repeated_error's baseline), its latency samples and latency
 * quantiles (latency_regression's; quantile_disc skips the events without a latency); exact
 * quantiles are read again for the operations whose sample is too small (see SAMPLE_MIN).
 * Read by an evaluation without a cache, where the rules would otherwise scan the week twice.
 */
export function operationBaseline(ctx: RuleContext): Promise<Array<Record<string, unknown>>> {
  const frame = frameOf(ctx);
  const quantiles = `quantile_disc(latency_ms, [${LATENCY_QUANTILES.join(', ')}])`;
  const sampled = `hash(ts) % ${SAMPLE_EVERY} = 0`;
  const range = { lo: new Date(frame.from), hi: new Date(frame.recentStart) };
  return once(ctx, `baseline:${frame.from}:${frame.recentStart}`, async () => {
    const q = bind(
      `SELECT operation, count(*) AS n, count(*) FILTER (WHERE is_failure) AS x, count(latency_ms) AS nl,
         count(latency_ms) FILTER (WHERE ${sampled}) AS ns, ${quantiles} FILTER (WHERE ${sampled}) AS q
       FROM logs WHERE ts >= $lo AND ts < $hi AND NOT duplicate GROUP BY ALL`,
      range,
    );
    const rows = await ctx.logs.all(q.sql, q.params);
    const exact = rows.filter((r) => Number(r['ns']) < SAMPLE_MIN && Number(r['nl']) >= ctx.thresholds.latencyRegression.minBaselineSamples);
    if (!exact.length) return rows;
    const named = exact.filter((r) => r['operation'] !== null && r['operation'] !== undefined).map((r) => String(r['operation']));
    const which = [...(named.length ? [`operation IN (${named.map(() => '?').join(', ')})`] : []), ...(named.length < exact.length ? ['operation IS NULL'] : [])].join(' OR ');
    const e = bind(`SELECT operation, ${quantiles} AS q FROM logs WHERE ts >= $lo AND ts < $hi AND NOT duplicate AND latency_ms IS NOT NULL AND (${which}) GROUP BY ALL`, range);
    const byOperation = new Map((await ctx.logs.all(e.sql, [...e.params, ...named])).map((r) => [opKey(r), r['q']]));
    return rows.map((r) => (byOperation.has(opKey(r)) ? { ...r, q: byOperation.get(opKey(r)) } : r));
  });
}

/**
 * OPERATIONS_SQL's rows without a cache, the same sums for every span a rule adds up: the
 * rules sum the baseline before a span that starts within the lookback, so only the hours
 * before `at - baseline` (the edge) are ever left out of a sum. Those are read by the hour;
 * the hours after them, always summed whole, are one bucket per operation (b to e): the
 * baseline scan's totals less the edge's. Minutes over the lookback as usual.
 */
function operationRows(ctx: RuleContext, frame: Frame): Promise<Array<Record<string, unknown>>> {
  return once(ctx, `operations:${frame.at}`, () => readOperationRows(ctx, frame));
}

async function readOperationRows(ctx: RuleContext, frame: Frame): Promise<Array<Record<string, unknown>>> {
  const edgeEnd = Math.min(frame.recentStart, Math.max(frame.from, Math.ceil((frame.at - ctx.baselineMs) / HOUR) * HOUR));
  const run = (bucket: string, lo: number, hi: number) => {
    const q = bind(OPERATIONS_SQL.replaceAll('{B}', bucket), { lo: new Date(lo), hi: new Date(hi) });
    return packedAll(ctx.logs, q.sql, q.params, OPERATIONS_SHAPE);
  };
  const [base, edge, recent] = await Promise.all([operationBaseline(ctx), edgeEnd > frame.from ? run(HOUR_BUCKET, frame.from, edgeEnd) : [], run(MINUTE_BUCKET, frame.recentStart, frame.at)]);
  if (edgeEnd >= frame.recentStart) return [...edge, ...recent];
  const inEdge = new Map<string, { n: number; x: number }>();
  for (const r of edge) {
    const k = opKey(r);
    const e = inEdge.get(k) ?? { n: 0, x: 0 };
    e.n += Number(r['n']);
    e.x += Number(r['x']);
    inEdge.set(k, e);
  }
  const middle: Array<Record<string, unknown>> = [];
  for (const r of base) {
    const e = inEdge.get(opKey(r));
    const n = Number(r['n']) - (e?.n ?? 0);
    if (n > 0) middle.push({ operation: r['operation'], b: edgeEnd, e: frame.recentStart, n, x: Number(r['x']) - (e?.x ?? 0) });
  }
  return [...edge, ...middle, ...recent];
}

const opKey = (r: Record<string, unknown>) => (r['operation'] === null || r['operation'] === undefined ? '\u0000' : `:${String(r['operation'])}`);

/** The frame the failure rules share: the baseline plus the day in which an error counts as new. */
export function failureFrame(ctx: RuleContext): Frame {
  return frameOf({ ...ctx, baselineMs: ctx.baselineMs + 24 * HOUR });
}

/**
 * The operation subject, read from the `operation` column alone (grouping by one column
 * is half the cost of two): a tool call's operation is `tool:<name>`, its tool.
 */
export function operationSubject(r: Record<string, unknown>): Record<string, string | null> {
  const operation = str(r['operation']) ?? 'unknown';
  const tool = operation.startsWith('tool:') ? operation.slice(5) : null;
  return { operation: tool ?? operation, tool_name: tool };
}
