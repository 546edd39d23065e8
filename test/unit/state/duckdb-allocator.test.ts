import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

// DuckDB's allocator reads its options from the environment once, in the process that loads
// it; only a process of its own shows what it read. jemalloc's stats_print (an option of the
// variable itself) prints the options in force when the process exits.
const LOAD = `import { loadDuckDB } from ${JSON.stringify(path.resolve('dist/core/state/duckdb.js'))};
const { DuckDBInstance } = await loadDuckDB();
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
await conn.run('SELECT 1');
process.stdout.write(process.env.DUCKDB_JE_MALLOC_CONF);`;

async function load(env: Record<string, string>) {
  const run = await execa(process.execPath, ['--input-type=module', '-e', LOAD], { env, extendEnv: false, reject: false, timeout: 60_000 });
  expect(run.exitCode, run.stderr).toBe(0);
  return { value: run.stdout, arenas: /opt\.narenas: (\d+)/.exec(run.stderr)?.[1] };
}

describe('DuckDB allocator options', () => {
  it('gives DuckDB one arena, before the module loads', async () => {
    const { value, arenas } = await load({ DUCKDB_JE_MALLOC_CONF: 'stats_print:true' });
    expect(value).toBe('narenas:1,stats_print:true');
    expect(arenas).toBe('1');
  });

  it("keeps the environment's own options after ours, so that they win", async () => {
    const { value, arenas } = await load({ DUCKDB_JE_MALLOC_CONF: 'narenas:3,stats_print:true' });
    expect(value).toBe('narenas:1,narenas:3,stats_print:true');
    expect(arenas).toBe('3');
  });

  it('leaves a value inherited from a parent that set it as it is', async () => {
    const { value, arenas } = await load({ DUCKDB_JE_MALLOC_CONF: 'narenas:1,stats_print:true' });
    expect(value).toBe('narenas:1,stats_print:true');
    expect(arenas).toBe('1');
  });
});
