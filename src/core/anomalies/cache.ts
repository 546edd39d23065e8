/**
 * What one evaluation of the rules can keep for the next: aggregates of whole past hours (an
 * hour older than the lookback no longer changes in an append-only log) and values that
 * change once an hour (a baseline percentile). The watcher evaluates every 30 seconds; with
 * this, each evaluation reads the last hours of the log, not the whole baseline week.
 * Owned by its caller (the watcher, the server's app context), never module state.
 */

export type Row = Record<string, unknown>;

const MAX_ENTRIES = 32;

export class DetectCache {
  private readonly spans = new Map<string, { from: number; until: number; rows: Row[] }>();
  private readonly values = new Map<string, { stamp: string; value: unknown }>();

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
