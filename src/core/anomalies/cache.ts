import type { LogQueryable } from '../logs/columns.js';

/**
 * What one evaluation of the rules can keep for the next: aggregates of whole past hours (an
 * hour older than the lookback no longer changes in an append-only log), aggregates of the
 * lookback's settled minutes, and values that change once an hour (a baseline percentile).
 * The watcher evaluates every 30 seconds; with this, each evaluation reads the last minutes
 * of the log, not the lookback's hours or the baseline week. Minutes are settled when they
 * end SETTLE_MS before the evaluation; a line that arrives later than that with an older time
 * is noticed by `checkSettled` (the count of the settled span changed) and the minutes are
 * read again. Owned by its caller (the watcher, the server's app context), never module state.
 */

export type Row = Record<string, unknown>;

const MAX_ENTRIES = 32;
const MINUTE = 60_000;
/** A minute ending this long before the evaluation is complete: the bot writes lines as it goes. */
export const SETTLE_MS = 2 * MINUTE;

export class DetectCache {
  private readonly spans = new Map<string, { from: number; until: number; rows: Row[] }>();
  private readonly values = new Map<string, { stamp: string; value: unknown }>();
  private readonly recent = new Map<string, { from: number; until: number; rows: Row[] }>();
  /** The span whose minutes are kept, and how many lines it held when they were read. */
  private settled: { from: number; until: number; count: number } | null = null;

  /**
   * Before an evaluation at `at` with minute data from `from`: forgets the kept minutes when
   * lines arrived in their span since (or time went backwards), and counts the span the
   * minutes kept after this evaluation will cover. One count over the lookback, no column but ts.
   */
  async checkSettled(logs: LogQueryable, from: number, at: number): Promise<void> {
    const until = Math.floor((at - SETTLE_MS) / MINUTE) * MINUTE;
    const prev = this.settled;
    const lo = prev ? Math.min(prev.from, from) : from;
    const hi = Math.max(prev?.until ?? 0, until, lo);
    const [row] = await logs.all<{ old: unknown; now: unknown }>(
      'SELECT count(*) FILTER (WHERE ts >= ?::TIMESTAMP AND ts < ?::TIMESTAMP) AS old, count(*) FILTER (WHERE ts >= ?::TIMESTAMP AND ts < ?::TIMESTAMP) AS now FROM logs WHERE ts >= ?::TIMESTAMP AND ts < ?::TIMESTAMP',
      [new Date(prev?.from ?? 0), new Date(prev?.until ?? 0), new Date(from), new Date(until), new Date(lo), new Date(hi)],
    );
    if (!prev || Number(row?.old ?? -1) !== prev.count || until < prev.until) this.recent.clear();
    this.settled = until > from ? { from, until, count: Number(row?.now ?? 0) } : null;
  }

  /**
   * Rows of a minute aggregate over [from, at) (every row with its bucket `b`): the settled
   * minutes kept from the last evaluation, and a query of the rest. Only valid after
   * `checkSettled` for this evaluation.
   */
  async minutes(key: string, from: number, at: number, query: (lo: number, hi: number) => Promise<Row[]>): Promise<Row[]> {
    const until = Math.floor((at - SETTLE_MS) / MINUTE) * MINUTE;
    const kept = this.recent.get(key);
    let rows: Row[];
    if (this.settled && kept && kept.from <= from && kept.until >= from && kept.until <= at) {
      const fresh = await query(kept.until, at);
      rows = [...kept.rows.filter((r) => Number(r['b']) >= from), ...fresh];
    } else {
      rows = await query(from, at);
    }
    if (this.settled && until > from) {
      this.bound(this.recent);
      this.recent.set(key, { from, until, rows: rows.filter((r) => Number(r['b']) < until) });
    } else this.recent.delete(key);
    return rows;
  }

  /**
   * Rows of an hourly aggregate over [from, until) (hour-aligned, every row with its bucket
   * `b` in epoch ms): only the hours not kept yet are queried.
   */
  async hours(key: string, from: number, until: number, query: (lo: number, hi: number) => Promise<Row[]>): Promise<Row[]> {
    const kept = this.spans.get(key);
    let rows: Row[];
    if (kept && kept.from <= from && kept.until >= from && kept.until <= until) {
      const fresh = kept.until < until ? await query(kept.until, until) : [];
      rows = [...kept.rows.filter((r) => Number(r['b']) >= from), ...fresh];
    } else {
      rows = await query(from, until);
    }
    this.bound(this.spans);
    this.spans.set(key, { from, until, rows });
    return rows;
  }

  /** A value computed again only when its stamp changes. */
  async once<T>(key: string, stamp: string, compute: () => Promise<T>): Promise<T> {
    const kept = this.values.get(key);
    if (kept && kept.stamp === stamp) return kept.value as T;
    const value = await compute();
    this.bound(this.values);
    this.values.set(key, { stamp, value });
    return value;
  }

  private bound(map: Map<string, unknown>): void {
    if (map.size >= MAX_ENTRIES) map.delete(map.keys().next().value as string);
  }
}
