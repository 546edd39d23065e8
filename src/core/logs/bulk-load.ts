import type { DuckDBAppender, DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import { duckDB } from '../state/duckdb.js';
import type { SqlIngest } from './sql-ingest.js';

/**
 * Feeds blocks of whole lines to DuckDB's own parser (sql-ingest.ts). Each connection (a
 * lane; the index decides how many, bulkLanes in log-index.ts) keeps one block in flight,
 * which DuckDB parses while this thread reads the next block (and, on another lane, finishes
 * the last); blocks are finished strictly in file order, so the lines DuckDB leaves to the
 * parser (the failures among them, whose duplicate marking depends on order) reach it in
 * order.
 *
 * Each lane writes in one transaction, committed by `commit()` (which the index calls every
 * few hundred MB of log and at the end), and its parser rows go through an appender on the
 * same connection, inside it: a big catch-up reaches the database file in whole row groups
 * (DuckDB writes those directly, not through its write-ahead log), and a failure rolls every
 * lane back to the last commit (`abort()`), leaving no half-read range behind.
 *
 * While it loads, DuckDB runs on one thread per lane (`SET threads`, restored by `close()` and
 * `abort()`): a block's statement reads one bound value, so a second thread made no block
 * faster and only added work (a cold index of 1M events: 13.7 s wall and 15.9 s of CPU
 * against 13.9 s and 17.6 s, medians of three). Queries wait for a refresh (the index runs
 * one thing at a time), so none runs narrowed.
 */

export interface BlockSink {
  /** One line the statement left to the parser, at `offset` in the file; append its row (if any) with `appender`. */
  line(bytes: Buffer, offset: number, appender: DuckDBAppender): void;
  /** Called once per block: how many rows DuckDB wrote, and where the block ends in the file. */
  loaded(rows: number, endOffset: number): Promise<void> | void;
}

interface Lane {
  conn: DuckDBConnection;
  /** The statement, planned once: planning it for every block cost more than a small block's parse. */
  insert: DuckDBPreparedStatement | null;
  appender: DuckDBAppender | null;
  open: boolean;
}

interface InFlight {
  lane: Lane;
  bytes: Buffer;
  start: number;
  offsets: number[];
  result: Promise<{ getColumnsJS(): unknown[][] }>;
}

export class BulkLoader {
  private readonly queue: InFlight[] = [];
  private readonly lanes: Lane[];
  private next = 0;
  /** Set while DuckDB runs on one thread per lane (see above). */
  private narrowed = false;

  /** `threads`: DuckDB's threads outside a load (limits.threads), given back when it ends. */
  constructor(
    connections: readonly DuckDBConnection[],
    private readonly ingest: SqlIngest,
    private readonly idPrefix: string,
    private readonly file: string,
    private readonly sink: BlockSink,
    private readonly threads: number,
  ) {
    this.lanes = connections.map((conn) => ({ conn, insert: null, appender: null, open: false }));
  }

  /** Starts loading `bytes` (whole lines, each ending in a newline; valid UTF-8 without NUL), which start at `start` in the file. */
  async push(bytes: Buffer, start: number): Promise<void> {
    if (this.queue.length >= this.lanes.length) await this.finishOldest();
    if (!this.narrowed && this.threads > this.lanes.length) {
      await this.lanes[0]!.conn.run(`SET threads = ${this.lanes.length}`);
      this.narrowed = true;
    }
    const lane = this.lanes[this.next++ % this.lanes.length]!;
    if (!lane.open) {
      await lane.conn.run('BEGIN TRANSACTION');
      lane.open = true;
    }
    const places: number[] = []; // where every line starts, as the statement splits them
    const offsets: number[] = []; // the lines that hold something: empty lines (and a lone CR) are skipped, as the parser does
    for (let at = 0; at < bytes.length; ) {
      const nl = bytes.indexOf(10, at);
      places.push(start + at);
      if (nl > at && !(nl === at + 1 && bytes[at] === 13)) offsets.push(start + at);
      at = nl + 1;
    }
    // Bound as bytes: DuckDB copies them once, where a string would be decoded here and encoded again there.
    const lines = duckDB().blobValueFromBytes(bytes.subarray(0, bytes.length - 1));
    lane.insert ??= await lane.conn.prepare(this.ingest.insertSql);
    lane.insert.bind([lines, places.join(','), this.idPrefix, this.file]);
    const result = lane.insert.runAndReadAll();
    result.catch(() => {}); // awaited, in order, by finishOldest
    this.queue.push({ lane, bytes, start, offsets, result });
  }

  /** Finishes every block in flight, in order, and commits every lane. */
  async commit(): Promise<void> {
    while (this.queue.length > 0) await this.finishOldest();
    for (const lane of this.lanes) {
      if (!lane.open) continue;
      lane.appender?.flushSync();
      lane.appender?.closeSync();
      lane.appender = null;
      await lane.conn.run('COMMIT');
      lane.open = false;
    }
  }

  /** Frees the statements and gives DuckDB its threads back, once the load is committed. */
  async close(): Promise<void> {
    for (const lane of this.lanes) {
      lane.insert?.destroySync();
      lane.insert = null;
    }
    if (this.narrowed) {
      await this.lanes[0]!.conn.run(`SET threads = ${this.threads}`);
      this.narrowed = false;
    }
  }

  /** Rolls every lane back to its last commit, and closes. */
  async abort(): Promise<void> {
    await Promise.allSettled(this.queue.splice(0).map((item) => item.result));
    await this.close().catch(() => {}); // the load already failed; a second error says nothing new
    for (const lane of this.lanes) {
      try {
        lane.appender?.closeSync();
      } catch {
        // the transaction is rolled back anyway
      }
      lane.appender = null;
      if (lane.open) await lane.conn.run('ROLLBACK').catch(() => {});
      lane.open = false;
    }
  }

  private async finishOldest(): Promise<void> {
    const { lane, bytes, start, offsets, result } = this.queue.shift()!;
    const inserted = (await result).getColumnsJS()[0] ?? [];
    const written = new Set<number>();
    for (const offset of inserted) written.add(Number(offset));
    for (const offset of offsets) {
      if (written.has(offset)) continue;
      const from = offset - start;
      const nl = bytes.indexOf(10, from);
      lane.appender ??= await lane.conn.createAppender('events');
      this.sink.line(bytes.subarray(from, nl < 0 ? bytes.length : nl), offset, lane.appender);
    }
    await this.sink.loaded(written.size, start + bytes.length);
  }
}
