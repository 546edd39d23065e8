import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { loadDuckDB } from './duckdb.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ConflictError } from '../errors.js';

/**
 * Small durable state (verification records, anomaly state, notification history) in one
 * DuckDB file, `state.duckdb` in the state directory. DuckDB lets one process at a time
 * hold a database file for writing, and several selfscope processes (one per agent
 * session) share a repository: so the file is opened for each operation and closed right
 * after, operations in this process are serialised, and a lock held by another process is
 * waited for (bounded). Operations are short; the hot log index lives elsewhere.
 */
// DuckDB's file lock is an fcntl lock, which never conflicts within one process: two
// instances opened on the same file by this process at once corrupt its WAL (seen here).
// So operations are serialised per file across the whole process — the one deliberate
// piece of module-level state, mirroring a process-wide resource.
const FILE_QUEUES = new Map<string, Promise<unknown>>();

export class StateStore {
  private readonly migrated = new Set<string>();

  constructor(
    readonly file: string,
    private readonly options: { lockWaitMs?: number; memoryLimit?: string } = {},
  ) {}

  static inStateDir(privateDirPath: string): StateStore {
    return new StateStore(path.join(privateDirPath, "state.duckdb"));
  }

  /**
   * Runs `fn` with a connection. `schema` is a list of idempotent DDL statements (CREATE
   * TABLE IF NOT EXISTS ...) for the tables `fn` uses; they run once per process.
   */
  run<T>(schemaKey: string, schema: readonly string[], fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    const key = path.resolve(this.file);
    const next = (FILE_QUEUES.get(key) ?? Promise.resolve()).then(() => this.runNow(schemaKey, schema, fn));
    const settled = next.then(
      () => {},
      () => {},
    );
    FILE_QUEUES.set(key, settled);
    void settled.then(() => {
      if (FILE_QUEUES.get(key) === settled) FILE_QUEUES.delete(key);
    });
    return next;
  }

  private async open(): Promise<DuckDBInstance> {
    await fs.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const deadline = Date.now() + (this.options.lockWaitMs ?? 15_000);
    let delay = 10;
    for (;;) {
      try {
        const { DuckDBInstance } = await loadDuckDB();
        return await DuckDBInstance.create(this.file, {
          threads: '1',
          memory_limit: this.options.memoryLimit ?? '128MB',
          enable_external_access: 'false',
          autoinstall_known_extensions: 'false',
          autoload_known_extensions: 'false',
        });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (!/lock/i.test(message) || Date.now() > deadline) {
          if (/lock/i.test(message)) {
            throw new ConflictError(`The state database ${this.file} stayed locked by another process.`, {
              cause: error,
              hint: 'Another selfscope process is writing to it; try again in a moment.',
            });
          }
          throw error;
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 200);
      }
    }
  }

  private async runNow<T>(schemaKey: string, schema: readonly string[], fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    const instance = await this.open();
    let conn: DuckDBConnection | undefined;
    try {
      conn = await instance.connect();
      if (!this.migrated.has(schemaKey)) {
        for (const statement of schema) await conn.run(statement);
        this.migrated.add(schemaKey);
      }
      return await fn(conn);
    } finally {
      conn?.closeSync();
      instance.closeSync();
    }
  }
}
