// The anchor of the cold index: DuckDB's own load of the same NDJSON file into a fresh database
// file, in a process of its own, with the threads, memory limit and spill directory selfscope
// gives its index (limits.threads, limits.memoryLimit; createInstance in log-index.ts), and the
// allocator options bench/logs.mjs puts in the environment (src/core/state/duckdb.ts). Prints
// one JSON object like bench/index-once.mjs's.
//   node bench/duckdb-anchor.mjs load  LOG.ndjson DB.duckdb THREADS MEMORY_LIMIT
//   node bench/duckdb-anchor.mjs query DB.duckdb THREADS MEMORY_LIMIT SQL
// `query` reopens the loaded file and answers one query: the anchor of a new process's first
// answer, timed from the process's start (printed as answeredAt, epoch ms) and from the open.
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

// Columns of the bot's log line, as DuckDB would type them; metadata is kept whole.
const ANCHOR_COLUMNS = `{ts: 'TIMESTAMP', level: 'VARCHAR', kind: 'VARCHAR', event: 'VARCHAR', agent: 'VARCHAR', source: 'VARCHAR', guild_id: 'VARCHAR', channel_id: 'VARCHAR', message_id: 'VARCHAR', user_id: 'VARCHAR', usd_cost: 'DOUBLE', content: 'VARCHAR', metadata: 'JSON'}`;

const now = () => performance.timeOrigin + performance.now();
const size = (f) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
const open = (db, threads, memoryLimit) =>
  DuckDBInstance.create(db, { threads: String(threads), memory_limit: memoryLimit, temp_directory: path.join(path.dirname(db), 'tmp') });

function usage() {
  const u = process.resourceUsage();
  return { cpuS: (u.userCPUTime + u.systemCPUTime) / 1e6, userS: u.userCPUTime / 1e6, sysS: u.systemCPUTime / 1e6, maxRssMb: Math.round(u.maxRSS / 1024) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === 'load') {
    const [logFile, db, threads, memoryLimit] = rest;
    fs.rmSync(db, { force: true });
    fs.rmSync(`${db}.wal`, { force: true });
    const cpuBefore = process.cpuUsage();
    const t = performance.now();
    const instance = await open(db, threads, memoryLimit);
    const conn = await instance.connect();
    const escaped = logFile.replace(/'/g, "''");
    await conn.run(`CREATE TABLE t AS SELECT * FROM read_ndjson('${escaped}', columns = ${ANCHOR_COLUMNS}, maximum_object_size = 67108864)`);
    const ms = performance.now() - t;
    const rows = Number((await conn.runAndReadAll('SELECT count(*) AS n FROM t')).getRowObjectsJS()[0].n);
    conn.closeSync();
    instance.closeSync();
    const closeMs = performance.now() - t - ms;
    const work = process.cpuUsage(cpuBefore);
    process.stdout.write(JSON.stringify({ ms, closeMs, rows, ...usage(), workCpuS: (work.user + work.system) / 1e6, fileMb: Math.round((size(db) + size(`${db}.wal`)) / 1e6) }));
  } else if (mode === 'query') {
    const [db, threads, memoryLimit, sql] = rest;
    const t = performance.now();
    const instance = await open(db, threads, memoryLimit);
    const conn = await instance.connect();
    const rows = (await conn.runAndReadAll(sql)).currentRowCount;
    const answeredAt = now();
    const answerMs = performance.now() - t;
    conn.closeSync();
    instance.closeSync();
    process.stdout.write(JSON.stringify({ answeredAt, answerMs, rows, ...usage() }));
  } else {
    console.error('usage: node bench/duckdb-anchor.mjs load LOG DB THREADS MEMORY | query DB THREADS MEMORY SQL');
    process.exit(2);
  }
}
