import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBAppender, DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { duckDB, loadDuckDB } from '../state/duckdb.js';
import type { ConfigFile } from '../../config/schema.js';
import { ConfigurationError, UserInputError } from '../errors.js';
import type { Logger } from '../logger.js';
import { LOG_COLUMNS, type LogQueryable } from './columns.js';
import { discoverLogFiles } from './discover.js';
import { IndexClient, OwnerGoneError } from './index-client.js';
import { IndexServer, type IndexService } from './index-owner.js';
import { indexSocketPath, wireSignature } from './index-protocol.js';
import { createLineParser, headHash, type BadLineReason, type LineParser, type LogRow } from './parse-line.js';
import { createSqlIngest, type SqlIngest } from './sql-ingest.js';
import { BulkLoader } from './bulk-load.js';
import { DuplicateFailures } from './duplicates.js';
import { RefreshMeter, type RefreshProgressListener } from './refresh-progress.js';

export type { RefreshProgress, RefreshProgressListener } from './refresh-progress.js';

/**
 * The log index: NDJSON files ingested incrementally into an embedded DuckDB database.
 *
 * Each file is a *stream* identified by its first line (head hash) and followed by inode:
 * a refresh reads only the bytes appended since the last complete line. Rotation by
 * rename is followed through the open file descriptor; truncation restarts the file as a
 * new stream; a copy whose head matches a known stream continues it (copy-truncate), so
 * lines are neither lost nor duplicated.
 *
 * When a file is truncated or replaced with lines still unread, the copy it was rotated
 * to is looked for among its siblings (any name, matched by head hash) and read from the
 * stream's offset first.
 *
 * One process at a time can hold a DuckDB file. The first selfscope process of a
 * repository holds `<stateDir>/index.duckdb` (its owner) and answers the others over a
 * Unix socket (index-owner.ts); another process (a second agent session, the watcher, a
 * CLI query) finds the file locked and becomes a client of the owner (index-client.ts):
 * the same methods, answered from the one index. When the owner exits, a client opens
 * the file itself (the DuckDB lock decides which one) and serves the rest. Only when no
 * owner answers does a process build a private index, removed when it closes.
 */

export const INDEX_VERSION = 2;
// What one read takes from a file, and so a bulk block's size: DuckDB's working memory for a
// block is many times its size (one in flight per lane), and statements are prepared once, so small
// blocks cost no more CPU (8 MB blocks peaked ~100 MB higher at 5M events).
export const READ_CHUNK = 2 * 1024 * 1024;
const HEAD_MAX = 4096;
const MAX_BAD_OFFSETS = 5;
// How long a copy of a live file waits for the original's truncation before it is read as a file of its own.
const COPY_WAIT_MS = 30_000;
// How long a process that finds the index locked waits for its owner to listen (it may be replaying
// a long write-ahead log) before it builds a private one.
const OWNER_WAIT_MS = 30_000;
// Reads at least this long go through DuckDB's parser (bulk-load.ts); shorter ones (an append) are parsed here.
const BULK_MIN_BYTES = 1024 * 1024;
/**
 * Blocks DuckDB parses at once, one per connection (a lane): one lane per two of DuckDB's
 * threads, each lane's statement on one of them (bulk-load.ts). With 2 threads, one lane
 * already keeps more than a core busy (the statement, and this thread reading the next
 * block); a second lane made a cold index of 5M events 20% faster (57 s against 70 s) for
 * 16–22% more CPU (100 s against 82–86 s), ~45 MB more peak memory and a 4% larger file (both
 * lanes then sharing two threads): too dear on a 2-core machine whose other core runs the bot.
 */
function bulkLanes(threads: number): number {
  return Math.max(1, Math.floor(threads / 2));
}
// A bulk load commits after this much of the log: rows that stay uncommitted hold memory in
// DuckDB that grows with the load (a cold 5M-event index ended ~200 MB higher in one transaction),
// and commits of whole row groups stay cheap (they write no rows to the write-ahead log).
const BULK_COMMIT_BYTES = 256 * 1024 * 1024;
// Set in meta while a refresh may have committed rows past the offsets saved in streams; an
// open that finds it (the process died mid-refresh) deletes those rows, to be read again.
const REFRESH_OPEN_KEY = 'refresh_open';
// Lines parsed between two looks at the clock for a progress report.
const LINES_PER_PROGRESS_CHECK = 256;

export interface LogIndexOptions {
  repo: string;
  logs: readonly string[];
  stateDirPath: string;
  schema: ConfigFile['schema'];
  limits: ConfigFile['limits'];
  logger: Logger;
  /** Large reads go through DuckDB's parser (default); false reads every line here, as the parser defines the model. */
  bulk?: boolean;
  /** How much of the log a bulk load reads between two commits (default BULK_COMMIT_BYTES; tests set less). */
  bulkCommitBytes?: number;
}

export interface FileHealth {
  path: string;
  stream_id: string;
  bytes_read: number;
  lines: number;
  bad_lines: number;
  bad_by_reason: Partial<Record<BadLineReason, number>>;
  first_bad_offsets: number[];
  cut_lines: number;
  coerced_lines: number;
  live: boolean;
}

export interface Freshness {
  events: number;
  newest_event: string | null;
  lag_ms: number | null;
  refreshed_at: string | null;
  refresh_ms: number | null;
  mode: 'shared' | 'private';
}

export interface RefreshOptions {
  /**
   * Hears how the refresh goes (bytes read of bytes to read, events), at most every 100 ms
   * while it reads, and once at its end when it read anything. It also hears a refresh
   * already running or queued ahead of this call: that is what the caller waits for.
   */
  onProgress?: RefreshProgressListener;
}

export interface RefreshStats {
  new_events: number;
  /** How many of them DuckDB's parser read (a large catch-up); the rest were parsed line by line. */
  bulk_events: number;
  bad_lines: number;
  files: number;
  elapsed_ms: number;
}

interface Stream {
  id: string;
  path: string;
  dev: number;
  ino: number;
  offset: number;
  head: string;
  live: boolean;
  lines: number;
  bad: Partial<Record<BadLineReason, number>>;
  badOffsets: number[];
  cut: number;
  coerced: number;
  fd: number | null;
}

type Row = Record<string, unknown>;

/** Turns DuckDB's JS values into plain JSON-able ones: bigint -> number, Date -> ISO string. */
export function plainRow(row: Record<string, unknown>): Row {
  const out: Row = {};
  for (const [key, value] of Object.entries(row)) {
    if (typeof value === 'bigint') out[key] = Number(value);
    else if (value instanceof Date) out[key] = Number.isFinite(value.getTime()) ? value.toISOString() : null;
    else out[key] = value;
  }
  return out;
}

const COLUMN_DDL = Object.entries(LOG_COLUMNS)
  .map(([name, type]) => `"${name}" ${type}`)
  .join(', ');

export class LogIndex implements LogQueryable {
  private readonly parser: LineParser;
  /** The parser as one DuckDB statement, for bulk reads; null when the mapping cannot be expressed in it. */
  private readonly sqlIngest: SqlIngest | null;
  private bulkConns: DuckDBConnection[] = [];
  /** Set when a bulk load failed: this process reads line by line from then on. */
  private bulkOff = false;
  private bulkEvents = 0;
  /** Whether meta holds REFRESH_OPEN_KEY (this refresh may commit rows before it saves the streams). */
  private refreshOpen = false;
  /** Marks the second logging of one failure (state across lines, bounded). */
  private readonly duplicates: DuplicateFailures;
  private readonly streams = new Map<string, Stream>();
  /** New files that look like a copy of a live stream, by "dev:ino", with when first seen. */
  private readonly deferred = new Map<string, number>();
  private queue: Promise<unknown> = Promise.resolve();
  private refreshedAt: number | null = null;
  private lastRefreshMs: number | null = null;
  private eventCount = 0;
  private newestTs: number | null = null;
  private followers = new Set<() => void>();
  private readonly progressListeners = new Set<RefreshProgressListener>();
  private watchers: fs.FSWatcher[] = [];
  private pollTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private closing = false;
  private closingDone: Promise<void> | null = null;
  private instance: DuckDBInstance | null = null;
  private connection: DuckDBConnection | null = null;
  private indexFile = '';
  private indexMode: 'shared' | 'private' = 'shared';
  /** Set while another process owns the index and this one asks it. */
  private remote: IndexClient | null = null;
  /** What the owner last said about the index, for freshness() and health() of a client. */
  private remoteState: { freshness: Freshness; health: FileHealth[] } | null = null;
  private server: IndexServer | null = null;
  private acquiring: Promise<void> | null = null;
  private readonly signature: string;

  private constructor(private readonly options: LogIndexOptions) {
    this.parser = createLineParser(options.schema);
    this.sqlIngest = options.bulk === false ? null : createSqlIngest(options.schema, options.limits.lineBytes);
    this.duplicates = new DuplicateFailures(options.schema.duplicateWindowMs);
    this.signature = createHash('sha1')
      .update(JSON.stringify({ v: INDEX_VERSION, schema: options.schema, lineBytes: options.limits.lineBytes, columns: LOG_COLUMNS }))
      .digest('hex');
  }

  /** Opens the index, or connects to the process that holds it; see the class comment. */
  static async open(options: LogIndexOptions): Promise<LogIndex> {
    await fsp.mkdir(options.stateDirPath, { recursive: true, mode: 0o700 });
    await removeStalePrivateIndexes(options.stateDirPath);
    const index = new LogIndex(options);
    await index.acquire();
    return index;
  }

  /** The DuckDB file this process reads, or the owner's when it asks the owner. */
  get file(): string {
    return this.indexFile;
  }

  get mode(): 'shared' | 'private' {
    return this.indexMode;
  }

  /** owner: holds the shared file; client: asks the process that does; private: holds an index of its own. */
  get role(): 'owner' | 'client' | 'private' {
    return this.remote ? 'client' : this.indexMode === 'private' ? 'private' : 'owner';
  }

  private get conn(): DuckDBConnection {
    if (!this.connection) throw new ConfigurationError('The log index is closed.');
    return this.connection;
  }

  /**
   * Becomes the owner of the shared file, or a client of its owner. The DuckDB file lock
   * decides: of two processes racing, exactly one opens it. A process that finds it locked
   * and no owner answering (one still starting) tries again for a while, then builds a
   * private index rather than wait without end.
   */
  private acquire(): Promise<void> {
    this.acquiring ??= this.acquireNow().finally(() => {
      this.acquiring = null;
    });
    return this.acquiring;
  }

  private async acquireNow(): Promise<void> {
    const { options } = this;
    const shared = path.join(options.stateDirPath, 'index.duckdb');
    const socketPath = indexSocketPath(options.stateDirPath);
    const signature = wireSignature(this.signature, options.logs);
    const deadline = Date.now() + OWNER_WAIT_MS;
    for (let attempt = 0; ; attempt++) {
      if (this.closing) return;
      // An owner that answers holds the file: ask it first, which spares loading DuckDB at all.
      const connected = await IndexClient.connect(socketPath);
      if (connected && connected.hello['signature'] === signature) {
        const client = connected.client;
        this.remote = client;
        this.indexFile = shared;
        this.indexMode = 'shared';
        this.absorb(connected.hello);
        client.onClose(() => {
          if (this.closing || this.remote !== client) return;
          this.remote = null;
          // Take over now, so that the index keeps up (and followers keep hearing) before the next call.
          void this.acquire().catch((error: unknown) => options.logger.log('warning', 'cannot take over the log index', { error: String(error) }));
        });
        return;
      }
      if (!connected) {
        let instance: DuckDBInstance | null = null;
        try {
          instance = await createInstance(shared, options);
        } catch (error) {
          if (!isLockError(error)) throw wrapOpenError(error, shared);
        }
        if (instance) {
          await this.adoptFile(instance, shared, 'shared');
          this.server = await IndexServer.listen(socketPath, this.service(signature), options.logger);
          return;
        }
      }
      if (connected) {
        connected.client.close();
        options.logger.log('info', 'the selfscope process holding the shared log index reads the logs differently (another version or configuration); building a private one', {});
        break;
      }
      if (Date.now() >= deadline) {
        options.logger.log('info', 'the shared log index is held by a process that does not answer; building a private one', {});
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** attempt, 500)));
    }
    const file = path.join(options.stateDirPath, `index-${process.pid}.duckdb`);
    await this.adoptFile(await createInstance(file, options), file, 'private');
  }

  private async adoptFile(instance: DuckDBInstance, file: string, mode: 'shared' | 'private'): Promise<void> {
    try {
      this.connection = await instance.connect();
      this.instance = instance;
      this.indexFile = file;
      this.indexMode = mode;
      this.remote = null;
      this.remoteState = null;
      await this.setup();
    } catch (error) {
      this.connection?.closeSync();
      this.connection = null;
      this.instance = null;
      instance.closeSync();
      throw error;
    }
  }

  /** What this process, as owner, answers to the others (see IndexService). */
  private service(signature: string): IndexService {
    return {
      signature,
      refresh: (onProgress) => this.refresh(onProgress ? { onProgress } : {}),
      all: async (sql, params) => {
        await this.refresh();
        return this.guardedQuery(sql, params, { maxRows: Number.MAX_SAFE_INTEGER });
      },
      query: (sql, params, o) => this.guardedQuery(sql, params, o),
      sql: (sql, o) => this.guardedQuery(sql, [], o),
      state: () => ({ freshness: this.freshness(), health: this.health() }),
    };
  }

  /** Takes in what the owner said about the index; tells followers when it grew. */
  private absorb(reply: unknown): void {
    const r = reply as { freshness?: Freshness; health?: FileHealth[] };
    if (!r.freshness) return;
    const before = this.remoteState?.freshness.events;
    this.remoteState = { freshness: r.freshness, health: r.health ?? this.remoteState?.health ?? [] };
    if (before !== undefined && r.freshness.events !== before) for (const follower of this.followers) follower();
  }

  /**
   * Runs `local` when this process holds an index, else `remote` through the owner; when
   * the owner goes away mid-request, takes over (or finds the next owner) and asks again.
   */
  private async route<T>(local: () => Promise<T>, remote: (client: IndexClient) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (this.acquiring) await this.acquiring;
      if (this.closed) throw new ConfigurationError('The log index is closed.');
      // A takeover that failed (in the background) is tried again by the next call.
      if (!this.remote && !this.connection) await this.acquire();
      const client = this.remote;
      if (!client) return local();
      try {
        return await remote(client);
      } catch (error) {
        if (!(error instanceof OwnerGoneError) || attempt >= 3) throw error;
        if (this.remote === client) this.remote = null;
        await this.acquire();
      }
    }
  }

  private async setup(): Promise<void> {
    const signature = this.signature;
    this.streams.clear();
    this.deferred.clear();
    await this.conn.run('CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)');
    const rows = (await this.conn.runAndReadAll(`SELECT value FROM meta WHERE key = 'signature'`)).getRowObjectsJS();
    if (rows[0]?.['value'] !== signature) {
      // A different mapping or format: rebuild from the files rather than mix two shapes.
      await this.conn.run('DROP VIEW IF EXISTS logs');
      await this.conn.run('DROP TABLE IF EXISTS events');
      await this.conn.run('DROP TABLE IF EXISTS streams');
      await this.conn.run(`INSERT OR REPLACE INTO meta VALUES ('signature', '${signature}')`);
    }
    await this.conn.run(`CREATE TABLE IF NOT EXISTS events (${COLUMN_DDL})`);
    await this.conn.run(
      'CREATE TABLE IF NOT EXISTS streams (id VARCHAR PRIMARY KEY, path VARCHAR, dev DOUBLE, ino DOUBLE, "offset" BIGINT, head VARCHAR, live BOOLEAN, lines BIGINT, cut BIGINT, coerced BIGINT, bad JSON, bad_offsets JSON)',
    );
    await this.conn.run('CREATE OR REPLACE VIEW logs AS SELECT * FROM events');
    for (const r of (await this.conn.runAndReadAll('SELECT * FROM streams')).getRowObjectsJS()) {
      const s = plainRow(r);
      this.streams.set(String(s['id']), {
        id: String(s['id']),
        path: String(s['path']),
        dev: Number(s['dev']),
        ino: Number(s['ino']),
        offset: Number(s['offset']),
        head: String(s['head']),
        live: Boolean(s['live']),
        lines: Number(s['lines']),
        cut: Number(s['cut']),
        coerced: Number(s['coerced']),
        bad: JSON.parse(String(s['bad'] ?? '{}')) as Stream['bad'],
        badOffsets: JSON.parse(String(s['bad_offsets'] ?? '[]')) as number[],
        fd: null,
      });
    }
    if ((await this.conn.runAndReadAll(`SELECT 1 FROM meta WHERE key = '${REFRESH_OPEN_KEY}'`)).currentRowCount > 0) {
      // The last refresh ended without saving where it stopped: its rows past the saved offsets
      // (and of streams never saved) go, and are read again, rather than be counted twice.
      const removed = await this.conn.run(
        `DELETE FROM events WHERE rowid IN (SELECT e.rowid FROM events e LEFT JOIN streams s ON s.id = split_part(e.id, ':', 1) WHERE s.id IS NULL OR e."offset" >= s."offset")`,
      );
      await this.conn.run(`DELETE FROM meta WHERE key = '${REFRESH_OPEN_KEY}'`);
      if (removed.rowsChanged > 0) this.options.logger.log('warning', 'the last refresh of the log index was interrupted; its unsaved rows will be read again', { rows: removed.rowsChanged });
    }
    this.refreshOpen = false;
    const stats = plainRow((await this.conn.runAndReadAll('SELECT count(*) AS n, epoch_ms(max(ts)) AS newest FROM events')).getRowObjectsJS()[0]!);
    this.eventCount = Number(stats['n'] ?? 0);
    this.newestTs = stats['newest'] === null || stats['newest'] === undefined ? null : Number(stats['newest']);
  }

  /** Serialises ingest and queries on the one connection. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => {});
    return next;
  }

  /** Brings the index up to date. When nothing changed it costs a stat per file. */
  refresh(options: RefreshOptions = {}): Promise<RefreshStats> {
    const { onProgress } = options;
    return this.route(
      () => {
        if (!onProgress) return this.exclusive(() => this.refreshNow());
        // Its own entry, so that the same function passed by two callers is heard by both.
        const listener: RefreshProgressListener = (p) => onProgress(p);
        this.progressListeners.add(listener);
        return this.exclusive(() => this.refreshNow()).finally(() => this.progressListeners.delete(listener));
      },
      async (client) => {
        const reply = (await client.request('refresh', { progress: onProgress !== undefined }, onProgress)) as { stats: RefreshStats };
        this.absorb(reply);
        return reply.stats;
      },
    );
  }

  private async refreshNow(): Promise<RefreshStats> {
    if (this.closed) throw new ConfigurationError('The log index is closed.');
    const bulkBefore = this.bulkEvents;
    const started = performance.now();
    let newEvents = 0;
    let badLines = 0;
    const appender = { current: null as DuckDBAppender | null };
    const getAppender = async () => (appender.current ??= await this.conn.createAppender('events'));
    const meter = new RefreshMeter(this.progressListeners);
    try {
      // 1. Drain every live stream through its descriptor (this follows renames).
      for (const stream of this.streams.values()) {
        if (!stream.live || stream.fd === null) continue;
        const size = fstatSize(stream.fd);
        if (size === null) continue;
        // Shorter, or longer with another first line (truncated, then written past our offset):
        // truncated in place (copy-truncate). The unread tail is in the copy; the path is picked up as a new stream.
        if (size < stream.offset || (size > stream.offset && headOf(stream.fd) !== stream.head)) {
          const r = await this.readFromCopy(stream, 'truncated', getAppender, meter);
          newEvents += r.events;
          badLines += r.bad;
          continue;
        }
        if (size > stream.offset) {
          const r = await this.readStream(stream, size, getAppender, meter);
          newEvents += r.events;
          badLines += r.bad;
        }
      }

      // 2. Match what the globs find now against the known streams.
      const found = await discoverLogFiles(this.options.repo, this.options.logs);
      // What each file will likely add, for a total known before reading; readStream adds the
      // exact amount when it starts on a file, and a file's estimate is taken back first.
      const estimates = new Map(found.map((f) => {
        const known = [...this.streams.values()].find((s) => s.live && s.dev === f.dev && s.ino === f.ino);
        return [f, known ? Math.max(0, f.bytes - known.offset) : f.bytes] as const;
      }));
      for (const estimate of estimates.values()) meter.bytesTotal += estimate;
      const seen = new Set<string>();
      for (const file of found) {
        meter.bytesTotal -= estimates.get(file) ?? 0;
        let stream = [...this.streams.values()].find((s) => s.live && s.dev === file.dev && s.ino === file.ino);
        if (stream && (file.bytes < stream.offset || (stream.fd === null && file.bytes > stream.offset && readHead(file.path) !== stream.head))) {
          // Same inode, shorter: truncated (copy-truncate's second half) while we were not reading it.
          const r = await this.readFromCopy(stream, 'truncated', getAppender, meter);
          newEvents += r.events;
          badLines += r.bad;
          stream = undefined;
        }
        if (!stream) {
          const head = readHead(file.path);
          if (head === null) continue; // no complete first line yet
          const sameHead = [...this.streams.values()].filter((s) => s.head === head && !seen.has(s.id));
          const liveTwin = sameHead.find((s) => s.live);
          const ended = sameHead.find((s) => !s.live && file.bytes >= s.offset);
          if (liveTwin && !ended) {
            // A copy of a file still being read: the first half of copy-truncate. Wait for the
            // truncation (then this copy continues that stream) rather than read it twice.
            const key = `${file.dev}:${file.ino}`;
            const since = this.deferred.get(key) ?? Date.now();
            this.deferred.set(key, since);
            if (Date.now() - since < COPY_WAIT_MS) continue;
          }
          this.deferred.delete(`${file.dev}:${file.ino}`);
          if (ended) {
            // The continuation of a stream we read up to `offset`: never read that part twice.
            stream = ended;
            closeFd(stream); // it may still hold the truncated original
            Object.assign(stream, { path: file.path, dev: file.dev, ino: file.ino, live: true });
          } else {
            const id = createHash('sha1').update(`${head}:${file.dev}:${file.ino}`).digest('hex').slice(0, 10);
            stream = { id, path: file.path, dev: file.dev, ino: file.ino, offset: 0, head, live: true, lines: 0, bad: {}, badOffsets: [], cut: 0, coerced: 0, fd: null };
            this.streams.set(id, stream);
          }
        }
        stream.path = file.path;
        seen.add(stream.id);
        if (stream.fd === null) {
          try {
            stream.fd = fs.openSync(file.path, 'r');
          } catch {
            continue; // vanished between listing and opening
          }
        }
        const size = fstatSize(stream.fd) ?? file.bytes;
        if (size > stream.offset) {
          const r = await this.readStream(stream, size, getAppender, meter);
          newEvents += r.events;
          badLines += r.bad;
        }
      }
      // Streams no longer matched by the globs (rotated away) were drained above through their
      // descriptor; one without (this process started after the rotation) is read where it went.
      for (const stream of this.streams.values()) {
        if (stream.live && !seen.has(stream.id)) {
          if (stream.fd === null) {
            const r = await this.readFromCopy(stream, 'replaced', getAppender, meter);
            newEvents += r.events;
            badLines += r.bad;
          }
          stream.live = false;
          closeFd(stream);
        }
      }
      if (appender.current) {
        appender.current.flushSync();
        appender.current.closeSync();
        appender.current = null;
      }
      if (newEvents > 0 || badLines > 0 || this.refreshOpen) await this.saveStreams();
      meter.finish();
    } catch (error) {
      try {
        appender.current?.closeSync();
      } catch {
        // already failed
      }
      throw error;
    }
    this.eventCount += newEvents;
    this.refreshedAt = Date.now();
    this.lastRefreshMs = performance.now() - started;
    if (newEvents > 0) for (const follower of this.followers) follower();
    return { new_events: newEvents, bulk_events: this.bulkEvents - bulkBefore, bad_lines: badLines, files: [...this.streams.values()].filter((s) => s.live).length, elapsed_ms: this.lastRefreshMs };
  }

  /**
   * A stream whose file was truncated or replaced with lines possibly unread: finds where
   * they went among the files beside it (the same inode renamed, or a copy: any name whose
   * first line is the stream's and that is at least as long as what was read), moves the
   * stream onto it and reads on from its offset. Without one, the stream ends where it was.
   */
  private async readFromCopy(stream: Stream, why: 'truncated' | 'replaced', getAppender: () => Promise<DuckDBAppender>, meter: RefreshMeter): Promise<{ events: number; bad: number }> {
    closeFd(stream);
    const copy = findCopy(stream, why === 'truncated');
    let fd: number | null = null;
    try {
      if (copy) fd = fs.openSync(copy.path, 'r');
    } catch {
      fd = null;
    }
    const opened = fd === null ? null : fs.fstatSync(fd);
    if (!copy || fd === null || !opened || opened.ino !== copy.ino || opened.dev !== copy.dev) {
      if (fd !== null) fs.closeSync(fd);
      stream.live = false;
      return { events: 0, bad: 0 };
    }
    this.options.logger.log('info', 'reading the rest of a rotated log from its copy', { file: displayPath(this.options.repo, copy.path), from: stream.offset });
    Object.assign(stream, { path: copy.path, dev: copy.dev, ino: copy.ino, live: true, fd });
    return opened.size > stream.offset ? this.readStream(stream, opened.size, getAppender, meter) : { events: 0, bad: 0 };
  }

  /**
   * Reads `stream` from its offset to `size`, appending rows for every complete line. A large
   * catch-up goes through DuckDB's own parser (bulk-load.ts) in blocks of whole lines; a block
   * with a NUL byte or invalid UTF-8, and any small read, is parsed here line by line.
   */
  private async readStream(stream: Stream, size: number, getAppender: () => Promise<DuckDBAppender>, meter: RefreshMeter): Promise<{ events: number; bad: number }> {
    if (!this.refreshOpen) {
      await this.conn.run(`INSERT OR REPLACE INTO meta VALUES ('${REFRESH_OPEN_KEY}', '1')`);
      this.refreshOpen = true;
    }
    const lineCap = this.options.limits.lineBytes;
    const hardCap = Math.max(lineCap * 16, 16 * 1024 * 1024);
    const fd = stream.fd!;
    let events = 0;
    let bad = 0;
    let carry: Buffer = Buffer.alloc(0);
    let carryStart = stream.offset;
    let skipping = false; // inside a line longer than hardCap: drop bytes until its newline
    let position = stream.offset;
    const chunk = Buffer.allocUnsafe(READ_CHUNK);
    const appender = await getAppender();
    const shownPath = displayPath(this.options.repo, stream.path);
    const readFrom = stream.offset;
    meter.bytesTotal += size - readFrom;
    let linesSinceCheck = 0;

    const markBad = (reason: BadLineReason, offset: number) => {
      bad++;
      stream.bad[reason] = (stream.bad[reason] ?? 0) + 1;
      if (stream.badOffsets.length < MAX_BAD_OFFSETS) stream.badOffsets.push(offset);
    };
    /** One line through the parser: a row, or a bad line counted. */
    const parseLine = (lineBuf: Buffer, offset: number, utf8Known: boolean, into: DuckDBAppender = appender) => {
      if (!utf8Known && !isUtf8(lineBuf)) {
        markBad('invalid_utf8', offset);
        return;
      }
      const parsed = this.parser.parse(lineBuf.toString('utf8'), lineBuf.length > lineCap ? lineCap : null);
      if (typeof parsed === 'string') {
        markBad(parsed, offset);
        return;
      }
      this.duplicates.mark(parsed);
      appendRow(into, `${stream.id}:${offset}`, shownPath, offset, lineBuf.length, parsed);
      stream.lines++;
      if (parsed.cut) stream.cut++;
      if (parsed.coerced) stream.coerced++;
      if (this.newestTs === null || parsed.ts > this.newestTs) this.newestTs = parsed.ts;
      events++;
    };
    /** A block of whole lines, line by line. */
    const parseBlock = async (complete: Buffer, dataStart: number) => {
      const chunkValid = isUtf8(complete);
      let lineStart = 0;
      while (lineStart < complete.length) {
        const nl = complete.indexOf(10, lineStart);
        const lineBuf = complete.subarray(lineStart, nl);
        const offset = dataStart + lineStart;
        lineStart = nl + 1;
        if (lineBuf.length === 0 || (lineBuf.length === 1 && lineBuf[0] === 13)) continue;
        parseLine(lineBuf, offset, chunkValid);
        if (++linesSinceCheck >= LINES_PER_PROGRESS_CHECK) {
          linesSinceCheck = 0;
          if (meter.due()) await meter.report(meter.bytesDone + dataStart + lineStart - readFrom, meter.events + events);
        }
      }
    };
    const bulk =
      this.sqlIngest !== null && !this.bulkOff && size - readFrom >= BULK_MIN_BYTES
        ? new BulkLoader(await this.bulkConnections(), this.sqlIngest, `${stream.id}:`, shownPath, {
            line: (bytes, offset, into) => parseLine(bytes, offset, true, into),
            loaded: async (rows, end) => {
              events += rows;
              this.bulkEvents += rows;
              stream.lines += rows;
              if (meter.due()) await meter.report(meter.bytesDone + end - readFrom, meter.events + events);
            },
          }, this.options.limits.threads)
        : null;
    // Where a failed bulk load goes back to before the rest is read line by line: the start, or
    // the end of the last block read here (everything before it committed or in the main appender).
    const restorePoint = () => ({
      stream: { ...stream, bad: { ...stream.bad }, badOffsets: [...stream.badOffsets] },
      newestTs: this.newestTs,
      duplicates: this.duplicates.snapshot(),
      bulkEvents: this.bulkEvents,
      events,
      bad,
    });
    let restore = bulk ? restorePoint() : null;
    let uncommitted = 0;

    try {
      while (position < size) {
        const bytesRead = fs.readSync(fd, chunk, 0, Math.min(READ_CHUNK, size - position), position);
        if (bytesRead <= 0) break;
        position += bytesRead;
        let data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : Buffer.from(chunk.subarray(0, bytesRead));
        let dataStart = carryStart;
        if (skipping) {
          const nl = data.indexOf(10);
          if (nl < 0) {
            carry = Buffer.alloc(0);
            carryStart = dataStart + data.length;
            continue;
          }
          skipping = false;
          data = data.subarray(nl + 1);
          dataStart += nl + 1;
          stream.offset = dataStart;
        }
        const lastNl = data.lastIndexOf(10);
        if (lastNl < 0) {
          if (data.length > hardCap) {
            markBad('too_long', dataStart);
            skipping = true;
            carry = Buffer.alloc(0);
            carryStart = dataStart + data.length;
          } else {
            carry = data;
            carryStart = dataStart;
          }
          continue;
        }
        const complete = data.subarray(0, lastNl + 1);
        const toDuckDB = bulk !== null && complete.indexOf(0) < 0 && isUtf8(complete);
        if (toDuckDB) {
          await bulk.push(complete, dataStart);
        } else {
          await bulk?.commit(); // lines keep their order: failures are marked duplicate in order
          await parseBlock(complete, dataStart);
        }
        stream.offset = dataStart + complete.length;
        if (bulk && toDuckDB && (uncommitted += complete.length) >= (this.options.bulkCommitBytes ?? BULK_COMMIT_BYTES)) {
          await bulk.commit();
          uncommitted = 0;
          restore = restorePoint();
        } else if (bulk && !toDuckDB) {
          uncommitted = 0;
          restore = restorePoint();
        }
        carry = data.subarray(lastNl + 1);
        carryStart = stream.offset;
        if (carry.length > hardCap) {
          markBad('too_long', carryStart);
          skipping = true;
          carry = Buffer.alloc(0);
        }
      }
      if (bulk) {
        await bulk.commit();
        await bulk.close();
        await this.readNewestTs();
      }
    } catch (error) {
      if (!bulk || !restore) throw error;
      await bulk.abort();
      // A commit that failed after some lane committed leaves rows past the restore point: they go, to be read again.
      await this.conn.run(`DELETE FROM events WHERE starts_with(id, ?) AND "offset" >= ?`, [`${stream.id}:`, restore.stream.offset]);
      Object.assign(stream, restore.stream, { fd: stream.fd });
      this.newestTs = restore.newestTs;
      await this.readNewestTs(); // blocks committed before the restore point
      restore.duplicates();
      this.bulkEvents = restore.bulkEvents;
      meter.bytesTotal -= size - readFrom;
      meter.bytesDone += stream.offset - readFrom;
      meter.events += restore.events;
      this.bulkOff = true;
      this.options.logger.log('warning', 'DuckDB could not read the log in bulk; reading it line by line from now on', { file: shownPath, error: firstLine(error) });
      const rest = await this.readStream(stream, size, getAppender, meter);
      return { events: restore.events + rest.events, bad: restore.bad + rest.bad };
    }
    // A torn last line stays unread until its newline arrives.
    meter.bytesDone += position - readFrom;
    meter.events += events;
    return { events, bad };
  }

  /** Takes the newest time among the rows DuckDB wrote (the parser's rows set it as they went). */
  private async readNewestTs(): Promise<void> {
    const newest = (await this.conn.runAndReadAll('SELECT epoch_ms(max(ts)) FROM events')).getRowsJS()[0]?.[0];
    if (newest !== null && newest !== undefined && (this.newestTs === null || Number(newest) > this.newestTs)) this.newestTs = Number(newest);
  }

  /** The connections bulk loads run on (one block in flight on each), made on first use. */
  private async bulkConnections(): Promise<DuckDBConnection[]> {
    if (this.bulkConns.length === 0) {
      const instance = this.instance;
      if (!instance || !this.sqlIngest) throw new ConfigurationError('The log index is closed.');
      for (let i = 0; i < bulkLanes(this.options.limits.threads); i++) {
        const conn = await instance.connect();
        this.bulkConns.push(conn);
      }
    }
    return this.bulkConns;
  }

  private async saveStreams(): Promise<void> {
    const esc = (v: string) => v.replace(/'/g, "''");
    await this.conn.run('BEGIN TRANSACTION');
    try {
      for (const s of this.streams.values()) {
        await this.conn.run(
          `INSERT OR REPLACE INTO streams VALUES ('${esc(s.id)}', '${esc(s.path)}', ${s.dev}, ${s.ino}, ${s.offset}, '${esc(s.head)}', ${s.live}, ${s.lines}, ${s.cut}, ${s.coerced}, '${esc(JSON.stringify(s.bad))}', '${esc(JSON.stringify(s.badOffsets))}')`,
        );
      }
      await this.conn.run(`DELETE FROM meta WHERE key = '${REFRESH_OPEN_KEY}'`);
      await this.conn.run('COMMIT');
      this.refreshOpen = false;
    } catch (error) {
      await this.conn.run('ROLLBACK').catch(() => {});
      throw error;
    }
  }

  /** LogQueryable: refresh, then run read-only SQL over `logs` with the configured timeout. */
  async all<T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.route(
      async () => {
        await this.refresh();
        return this.exclusive(() => this.run<T>(sql, params, this.options.limits.queryTimeoutMs, Number.MAX_SAFE_INTEGER)).then((r) => r.rows);
      },
      async (client) => {
        const reply = (await client.request('all', { sql, params })) as { rows: T[] };
        this.absorb(reply);
        return reply.rows;
      },
    );
  }

  /**
   * Runs one query with a timeout (interrupting DuckDB) and a row cap; `rows` holds at
   * most `maxRows`, `more` says there were more. Does not refresh.
   */
  query<T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params: readonly unknown[], options: { timeoutMs?: number; maxRows?: number } = {}): Promise<{ rows: T[]; more: boolean }> {
    return this.route(
      () => this.exclusive(() => this.run<T>(sql, params, options.timeoutMs ?? this.options.limits.queryTimeoutMs, options.maxRows ?? Number.MAX_SAFE_INTEGER)),
      async (client) => (await client.request('query', { sql, params, ...options })) as { rows: T[]; more: boolean },
    );
  }

  /**
   * Runs an agent's own SQL: exactly one statement, and its prepared type must be SELECT.
   * The database itself is locked down (no file access, no extensions, locked settings).
   */
  sqlSelect(sql: string, options: { timeoutMs?: number; maxRows: number }): Promise<{ rows: Row[]; more: boolean }> {
    return this.route(
      () => this.guardedQuery(sql, [], options),
      async (client) => (await client.request('sql', { sql, ...options })) as { rows: Row[]; more: boolean },
    );
  }

  /**
   * sqlSelect's guard with parameters: what other processes get through the socket, their
   * engines' queries included. The owner's timeout is the most a query gets.
   */
  private guardedQuery(sql: string, params: readonly unknown[], options: { timeoutMs?: number; maxRows?: number }): Promise<{ rows: Row[]; more: boolean }> {
    const limit = this.options.limits.queryTimeoutMs;
    const timeoutMs = Math.min(options.timeoutMs ?? limit, limit);
    const maxRows = options.maxRows ?? Number.MAX_SAFE_INTEGER;
    return this.exclusive(async () => {
      let extracted;
      try {
        extracted = await this.conn.extractStatements(sql);
      } catch (error) {
        throw new UserInputError(`The SQL does not parse: ${firstLine(error)}`, { hint: 'Write one SELECT over the logs view, e.g. SELECT kind, count(*) FROM logs GROUP BY kind.' });
      }
      // The prepared type is the rule; the leading keyword is a second fence, because DuckDB
      // rewrites some statements (PRAGMA name) into a SELECT before it types them.
      if (!/^(select|with|from|values|table|\()/i.test(stripLeadingComments(sql))) {
        throw new UserInputError('Only a read-only SELECT is allowed in sql mode.', {
          hint: 'Start with SELECT (or WITH ... SELECT); no COPY, ATTACH, INSTALL, LOAD, SET, PRAGMA or writes.',
        });
      }
      if (extracted.count !== 1) {
        throw new UserInputError(`Exactly one statement is allowed; this has ${extracted.count}.`, { hint: 'Send a single SELECT without a trailing second statement.' });
      }
      let prepared;
      try {
        prepared = await extracted.prepare(0);
      } catch (error) {
        throw new UserInputError(`The SQL is not valid here: ${firstLine(error)}`, { hint: 'Query the logs view; run selfscope_status or mode "events" to see the columns.' });
      }
      if (prepared.statementType !== 1 /* SELECT */) {
        prepared.destroySync();
        throw new UserInputError('Only a read-only SELECT is allowed in sql mode.', {
          hint: 'No COPY, ATTACH, INSTALL, LOAD, SET, PRAGMA, CREATE or writes: ask with SELECT ... FROM logs.',
        });
      }
      try {
        return await this.withTimeout(timeoutMs, async () => {
          if (params.length > 0) prepared.bind(params.map(toDuckValue) as never);
          const reader = maxRows === Number.MAX_SAFE_INTEGER ? await prepared.runAndReadAll() : await prepared.streamAndReadUntil(maxRows + 1);
          const rows = reader.getRowObjectsJS().map(plainRow);
          return { rows: rows.slice(0, maxRows), more: rows.length > maxRows };
        });
      } catch (error) {
        if (error instanceof UserInputError) throw error;
        throw new UserInputError(`The query failed: ${firstLine(error)}`, { hint: 'Only the logs view can be read; files, extensions and settings are off limits.' });
      } finally {
        prepared.destroySync();
      }
    });
  }

  private async run<T>(sql: string, params: readonly unknown[], timeoutMs: number, maxRows: number): Promise<{ rows: T[]; more: boolean }> {
    return this.withTimeout(timeoutMs, async () => {
      const prepared = await this.conn.prepare(sql);
      try {
        if (params.length > 0) prepared.bind(params.map(toDuckValue) as never);
        const reader = maxRows === Number.MAX_SAFE_INTEGER ? await prepared.runAndReadAll() : await prepared.streamAndReadUntil(maxRows + 1);
        const rows = reader.getRowObjectsJS().map(plainRow) as T[];
        return { rows: rows.slice(0, maxRows), more: rows.length > maxRows };
      } finally {
        prepared.destroySync();
      }
    });
  }

  private async withTimeout<T>(timeoutMs: number, fn: () => Promise<T>): Promise<T> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.conn.interrupt();
    }, timeoutMs);
    try {
      return await fn();
    } catch (error) {
      if (timedOut) {
        throw new UserInputError(`The query was interrupted after ${timeoutMs} ms.`, {
          hint: 'Narrow it (a shorter since, a kind or event filter, fewer groups) or raise limits.queryTimeoutMs.',
        });
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  freshness(): Freshness {
    if (this.remote && this.remoteState) {
      const f = this.remoteState.freshness;
      const newest = f.newest_event === null ? null : Date.parse(f.newest_event);
      return { ...f, lag_ms: newest === null ? null : Math.max(0, Date.now() - newest) };
    }
    return {
      events: this.eventCount,
      newest_event: this.newestTs === null ? null : new Date(this.newestTs).toISOString(),
      lag_ms: this.newestTs === null ? null : Math.max(0, Date.now() - this.newestTs),
      refreshed_at: this.refreshedAt === null ? null : new Date(this.refreshedAt).toISOString(),
      refresh_ms: this.lastRefreshMs === null ? null : Math.round(this.lastRefreshMs * 10) / 10,
      mode: this.mode,
    };
  }

  health(): FileHealth[] {
    if (this.remote && this.remoteState) return this.remoteState.health.map((h) => ({ ...h }));
    return [...this.streams.values()].map((s) => ({
      path: displayPath(this.options.repo, s.path),
      stream_id: s.id,
      bytes_read: s.offset,
      lines: s.lines,
      bad_lines: Object.values(s.bad).reduce((a, b) => a + (b ?? 0), 0),
      bad_by_reason: { ...s.bad },
      first_bad_offsets: [...s.badOffsets],
      cut_lines: s.cut,
      coerced_lines: s.coerced,
      live: s.live,
    }));
  }

  /**
   * Calls `onChange` after a refresh that added events, and keeps refreshing on its own
   * while anyone follows: file watching, with a polling fallback (some file systems send
   * no events). Returns the unfollow function.
   */
  follow(onChange: () => void, pollMs = 1000): () => void {
    this.followers.add(onChange);
    if (this.followers.size === 1) this.startWatching(pollMs);
    return () => {
      this.followers.delete(onChange);
      if (this.followers.size === 0) this.stopWatching();
    };
  }

  private startWatching(pollMs: number): void {
    const kick = () => void this.refresh().catch((error: unknown) => this.options.logger.log('warning', 'log refresh failed', { error: String(error) }));
    const dirs = new Set(this.options.logs.map((g) => path.resolve(this.options.repo, globBase(g))));
    for (const dir of dirs) {
      try {
        const watcher = fs.watch(dir, { persistent: false }, kick);
        watcher.on('error', () => {});
        this.watchers.push(watcher);
      } catch {
        // Directory missing or not watchable: polling covers it.
      }
    }
    this.pollTimer = setInterval(kick, pollMs);
    this.pollTimer.unref();
  }

  private stopWatching(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  close(): Promise<void> {
    this.closingDone ??= this.closeNow();
    return this.closingDone;
  }

  private async closeNow(): Promise<void> {
    this.closing = true;
    this.stopWatching();
    this.followers.clear();
    await this.acquiring?.catch(() => {});
    this.closed = true;
    this.remote?.close();
    this.remote = null;
    // Stop answering before letting go of the file: whoever opens it next finds no socket of ours.
    await this.server?.close();
    this.server = null;
    await this.queue.catch(() => {});
    for (const s of this.streams.values()) closeFd(s);
    for (const conn of this.bulkConns) conn.closeSync();
    this.bulkConns = [];
    this.connection?.closeSync();
    this.connection = null;
    this.instance?.closeSync();
    this.instance = null;
    if (this.mode === 'private') {
      await fsp.rm(this.file, { force: true });
      await fsp.rm(`${this.file}.wal`, { force: true });
    }
  }
}

async function createInstance(file: string, options: LogIndexOptions): Promise<DuckDBInstance> {
  const { DuckDBInstance } = await loadDuckDB();
  return DuckDBInstance.create(file, {
    threads: String(options.limits.threads),
    memory_limit: options.limits.memoryLimit,
    temp_directory: path.join(options.stateDirPath, 'tmp'),
    enable_external_access: 'false',
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    allow_community_extensions: 'false',
    lock_configuration: 'true',
    // The one setting that may change after the lock: a bulk load narrows DuckDB's threads while
    // it runs (bulk-load.ts). SQL mode prepares nothing but a SELECT, so it cannot SET this either.
    allowed_configs: "['threads']",
  });
}

/** DuckDB's refusal to open a file another process holds. */
function isLockError(error: unknown): boolean {
  return /lock/i.test(String(error instanceof Error ? error.message : error));
}

function wrapOpenError(error: unknown, file: string): Error {
  return new ConfigurationError(`Cannot open the log index ${file}: ${firstLine(error)}`, {
    cause: error,
    hint: 'Check the state directory is writable; delete the index file to rebuild it from the logs.',
  });
}

/** Private indexes of processes that died without closing. */
async function removeStalePrivateIndexes(stateDir: string): Promise<void> {
  let names: string[] = [];
  try {
    names = await fsp.readdir(stateDir);
  } catch {
    return;
  }
  for (const name of names) {
    const match = /^index-(\d+)\.duckdb(\.wal)?$/.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (error) {
      alive = (error as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (!alive) await fsp.rm(path.join(stateDir, name), { force: true });
  }
}

function stripLeadingComments(sql: string): string {
  let rest = sql;
  for (;;) {
    const trimmed = rest.replace(/^\s+/, '');
    if (trimmed.startsWith('--')) rest = trimmed.replace(/^--[^\n]*\n?/, '');
    else if (trimmed.startsWith('/*')) rest = trimmed.replace(/^\/\*[\s\S]*?(\*\/|$)/, '');
    else return trimmed;
  }
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0]!.slice(0, 300);
}

function fstatSize(fd: number): number | null {
  try {
    return fs.fstatSync(fd).size;
  } catch {
    return null;
  }
}

function closeFd(stream: Stream): void {
  if (stream.fd !== null) {
    try {
      fs.closeSync(stream.fd);
    } catch {
      // already closed
    }
    stream.fd = null;
  }
}

/**
 * The file beside `stream`'s that holds what it had plus what was written after: its own
 * inode under another name (unless it was truncated), else the longest regular file of at
 * least `offset` bytes with the same first line. Symlinks are not followed.
 */
function findCopy(stream: Stream, truncated: boolean): { path: string; dev: number; ino: number } | null {
  const dir = path.dirname(stream.path);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return null;
  }
  let best: { path: string; dev: number; ino: number; size: number } | null = null;
  for (const name of names) {
    const file = path.join(dir, name);
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(file);
    } catch {
      continue;
    }
    if (!stat.isFile() || stat.size < stream.offset) continue;
    const same = stat.dev === stream.dev && stat.ino === stream.ino;
    if (same && truncated) continue;
    if (same) return { path: file, dev: stat.dev, ino: stat.ino };
    if (best && stat.size <= best.size) continue;
    if (readHead(file) !== stream.head) continue;
    best = { path: file, dev: stat.dev, ino: stat.ino, size: stat.size };
  }
  return best;
}

/** Hash of the file's first complete line (its identity across renames and copies), or null. */
function readHead(file: string): string | null {
  let fd: number | null = null;
  try {
    fd = fs.openSync(file, 'r');
    return headOf(fd);
  } catch {
    return null;
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** readHead of an open file. */
function headOf(fd: number): string | null {
  try {
    const buf = Buffer.alloc(HEAD_MAX);
    const n = fs.readSync(fd, buf, 0, HEAD_MAX, 0);
    const nl = buf.subarray(0, n).indexOf(10);
    if (nl < 0) return n === HEAD_MAX ? headHash(buf) : null;
    return headHash(buf.subarray(0, nl));
  } catch {
    return null;
  }
}

function displayPath(repo: string, file: string): string {
  const rel = path.relative(repo, file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}

/** The directory part of a glob before its first wildcard, to watch. */
function globBase(glob: string): string {
  const parts = glob.split('/');
  const fixed: string[] = [];
  for (const part of parts) {
    if (/[*?[\]{}!]/.test(part)) break;
    fixed.push(part);
  }
  if (fixed.length === parts.length) fixed.pop(); // a plain file path: watch its directory
  return fixed.join('/') || '.';
}

function toDuckValue(value: unknown): unknown {
  if (value instanceof Date) return new (duckDB().DuckDBTimestampValue)(BigInt(value.getTime()) * 1000n);
  return value;
}

function appendRow(a: DuckDBAppender, id: string, file: string, offset: number, lineBytes: number, r: LogRow): void {
  const text = (v: string | null) => (v === null ? a.appendNull() : a.appendVarchar(v));
  a.appendVarchar(id);
  a.appendVarchar(file);
  a.appendBigInt(BigInt(offset));
  a.appendTimestamp(new (duckDB().DuckDBTimestampValue)(BigInt(Math.round(r.ts)) * 1000n));
  text(r.level);
  text(r.kind);
  text(r.event);
  text(r.agent);
  text(r.source);
  text(r.guild_id);
  text(r.channel_id);
  text(r.message_id);
  text(r.user_id);
  a.appendDouble(r.usd_cost);
  if (r.latency_ms === null) a.appendNull();
  else a.appendDouble(r.latency_ms);
  text(r.error);
  text(r.tool_name);
  text(r.session_id);
  text(r.turn_id);
  text(r.trigger_message_id);
  if (r.trigger_message_ids === null) a.appendNull();
  else a.appendList(r.trigger_message_ids);
  text(r.call_id);
  a.appendVarchar(r.fingerprint);
  a.appendBoolean(r.is_failure);
  text(r.instance);
  a.appendVarchar(r.operation);
  a.appendBoolean(r.duplicate);
  text(r.content);
  text(r.metadata);
  a.appendInteger(lineBytes);
  a.appendBoolean(r.cut);
  a.endRow();
}
