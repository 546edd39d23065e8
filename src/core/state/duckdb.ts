import type * as DuckDB from '@duckdb/node-api';

/**
 * DuckDB's native module is loaded on first use, not at start-up: a server answers
 * initialize and tools/list without paying for it (about 130 ms on a small machine).
 */
let loading: Promise<typeof DuckDB> | null = null;
let loaded: typeof DuckDB | null = null;

export async function loadDuckDB(): Promise<typeof DuckDB> {
  loading ??= import('@duckdb/node-api').then((m) => (loaded = m));
  return loading;
}

/** The module, for synchronous code that only runs once a database is open. */
export function duckDB(): typeof DuckDB {
  if (!loaded) throw new Error('DuckDB is used before any database was opened.');
  return loaded;
}
