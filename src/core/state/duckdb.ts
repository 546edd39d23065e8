import type * as DuckDB from '@duckdb/node-api';

/**
 * DuckDB's native module is loaded on first use, not at start-up: a server answers
 * initialize and tools/list without paying for it (about 130 ms on a small machine).
 */
let loading: Promise<typeof DuckDB> | null = null;
let loaded: typeof DuckDB | null = null;

/**
 * DuckDB's own allocator (a jemalloc of its own, configured by this variable) gives its
 * threads two arenas and keeps freed pages for a second in each. A bulk load's statements
 * run on libuv's workers and DuckDB's thread in turn, so the pages one thread frees sat in
 * its arena while the next allocated fresh ones: a cold index of 5M events peaked at 712 MB.
 * With one arena they are reused (599–606 MB, the same CPU). A value already in the environment
 * comes after ours, so its options win; one that starts with ours (a child of this process)
 * is kept as it is.
 */
export const ALLOCATOR_ENV = 'DUCKDB_JE_MALLOC_CONF';
export const ALLOCATOR_DEFAULTS = 'narenas:1';

export async function loadDuckDB(): Promise<typeof DuckDB> {
  // jemalloc reads the variable once, at its first allocation: before the module loads.
  loading ??= Promise.resolve().then(() => {
    const own = process.env[ALLOCATOR_ENV];
    if (!own?.startsWith(ALLOCATOR_DEFAULTS)) process.env[ALLOCATOR_ENV] = own ? `${ALLOCATOR_DEFAULTS},${own}` : ALLOCATOR_DEFAULTS;
    return import('@duckdb/node-api').then((m) => (loaded = m));
  });
  return loading;
}

/** The module, for synchronous code that only runs once a database is open. */
export function duckDB(): typeof DuckDB {
  if (!loaded) throw new Error('DuckDB is used before any database was opened.');
  return loaded;
}
