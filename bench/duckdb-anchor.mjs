// The anchor of the cold index: DuckDB's own load of the same NDJSON file into a fresh database
// file, in a process of its own, with the threads, memory limit and spill directory selfscope
// gives its index (limits.threads, limits.memoryLimit; createInstance in log-index.ts), and the
// allocator options bench/logs.mjs puts in the environment (src/core/state/duckdb.ts). Prints
// one JSON object like bench/index-once.mjs's.
//   node bench/duckdb-anchor.mjs load  LOG.ndjson DB.duckdb THREADS MEMORY_LIMIT
//   node bench/duckdb-anchor.mjs query DB.duckdb THREADS MEMORY_LIMIT SQL
//   node bench/duckdb-anchor.mjs floor LOG.ndjson DB.duckdb THREADS MEMORY_LIMIT
// `query` reopens the loaded file and answers one query: the anchor of a new process's first
// answer, timed from the process's start (printed as answeredAt, epoch ms) and from the open.
// `floor` loads the anchor's columns the way selfscope's bulk load must, to give every row its
// id (the stream and the line's byte offset, which read_ndjson cannot tell): blocks of whole
// lines read here, bound with their offsets, split and parsed by DuckDB (one json_transform
// per line, typed as the anchor's columns), one statement in flight, on one of DuckDB's
// threads, committed every 256 MB (bulk-load.ts). It computes nothing of the log model: it is
// the least any load that keeps those ids costs by this route.
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, blobValue } from '@duckdb/node-api';

// Columns of the bot's log line, as DuckDB would type them; metadata is kept whole.
const ANCHOR_COLUMNS = `{ts: 'TIMESTAMP', level: 'VARCHAR', kind: 'VARCHAR', event: 'VARCHAR', agent: 'VARCHAR', source: 'VARCHAR', guild_id: 'VARCHAR', channel_id: 'VARCHAR', message_id: 'VARCHAR', user_id: 'VARCHAR', usd_cost: 'DOUBLE', content: 'VARCHAR', metadata: 'JSON'}`;

// The floor's columns: the anchor's, in the same types.
const FLOOR_COLUMNS = { ts: 'TIMESTAMP', level: 'VARCHAR', kind: 'VARCHAR', event: 'VARCHAR', agent: 'VARCHAR', source: 'VARCHAR', guild_id: 'VARCHAR', channel_id: 'VARCHAR', message_id: 'VARCHAR', user_id: 'VARCHAR', usd_cost: 'DOUBLE', content: 'VARCHAR', metadata: 'JSON' };
// selfscope's block and commit sizes (READ_CHUNK, BULK_COMMIT_BYTES in log-index.ts).
const FLOOR_BLOCK = 2 * 1024 * 1024;
const FLOOR_COMMIT_BYTES = 256 * 1024 * 1024;
const now = () => performance.timeOrigin + performance.now();
const size = (f) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
const open = (db, threads, memoryLimit) =>
  DuckDBInstance.create(db, { threads: String(threads), memory_limit: memoryLimit, temp_directory: path.join(path.dirname(db), 'tmp') });

function usage() {
  const u = process.resourceUsage();
  return { cpuS: (u.userCPUTime + u.systemCPUTime) / 1e6, userS: u.userCPUTime / 1e6, sysS: u.systemCPUTime / 1e6, maxRssMb: Math.round(u.maxRSS / 1024) };
}

/**
 * Loads LOG into a fresh database file DB with `load(conn, logFile)` and prints the figures of
 * the whole process (CPU, peak RSS) and of the load (wall, rows, file size).
 */
async function timedLoad([logFile, db, threads, memoryLimit], load) {
  fs.rmSync(db, { force: true });
  fs.rmSync(`${db}.wal`, { force: true });
  const cpuBefore = process.cpuUsage();
  const t = performance.now();
  const instance = await open(db, threads, memoryLimit);
  const conn = await instance.connect();
  await load(conn, logFile);
  const ms = performance.now() - t;
  const rows = Number((await conn.runAndReadAll('SELECT count(*) AS n FROM t')).getRowObjectsJS()[0].n);
  conn.closeSync();
  instance.closeSync();
  const closeMs = performance.now() - t - ms;
  const work = process.cpuUsage(cpuBefore);
  process.stdout.write(JSON.stringify({ ms, closeMs, rows, ...usage(), workCpuS: (work.user + work.system) / 1e6, fileMb: Math.round((size(db) + size(`${db}.wal`)) / 1e6) }));
}

/** DuckDB's own load: read_ndjson of the whole file, in place. */
async function loadWithReader(conn, logFile) {
  const escaped = logFile.replace(/'/g, "''");
  await conn.run(`CREATE TABLE t AS SELECT * FROM read_ndjson('${escaped}', columns = ${ANCHOR_COLUMNS}, maximum_object_size = 67108864)`);
}

/** The floor (see the top): the anchor's columns with offset ids, in selfscope's blocks. */
async function loadInBlocks(conn, logFile) {
  await conn.run('SET threads = 1');
  const columns = Object.entries(FLOOR_COLUMNS);
  await conn.run(`CREATE TABLE t (id VARCHAR, "offset" BIGINT, ${columns.map(([k, type]) => `${k} ${type}`).join(', ')})`);
  // Every field as its text, as the anchor types them (ts cast after), in one parse of the line.
  const structure = JSON.stringify(Object.fromEntries(columns.map(([k, type]) => [k, type === 'TIMESTAMP' ? 'VARCHAR' : type])));
  const insert = await conn.prepare(
    `INSERT INTO t SELECT $2::VARCHAR || o, o, ${columns.map(([k, type]) => (type === 'TIMESTAMP' ? `TRY_CAST(s.${k} AS TIMESTAMP)` : `s.${k}`)).join(', ')}
     FROM (SELECT o, json_transform(line, '${structure}') AS s FROM (SELECT unnest(string_split(decode($1::BLOB), chr(10))) AS line, unnest(string_split($3::VARCHAR, ','))::BIGINT AS o) WHERE line <> '')`,
  );
  const fd = fs.openSync(logFile, 'r');
  const block = Buffer.allocUnsafe(FLOOR_BLOCK);
  let position = 0;
  let carry = Buffer.alloc(0);
  let uncommitted = 0;
  await conn.run('BEGIN TRANSACTION');
  for (;;) {
    const n = fs.readSync(fd, block, 0, FLOOR_BLOCK, position + carry.length);
    if (n === 0) break;
    const data = Buffer.concat([carry, block.subarray(0, n)]);
    const end = data.lastIndexOf(10) + 1;
    const lines = data.subarray(0, end);
    const starts = [];
    for (let at = 0; at < lines.length; at = lines.indexOf(10, at) + 1) starts.push(position + at);
    insert.bind([blobValue(lines.subarray(0, lines.length - 1)), 'f1:', starts.join(',')]);
    await insert.run();
    carry = Buffer.from(data.subarray(end));
    position += end;
    if ((uncommitted += end) >= FLOOR_COMMIT_BYTES) {
      await conn.run('COMMIT');
      await conn.run('BEGIN TRANSACTION');
      uncommitted = 0;
    }
  }
  await conn.run('COMMIT');
  fs.closeSync(fd);
  insert.destroySync();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === 'load') {
    await timedLoad(rest, loadWithReader);
  } else if (mode === 'floor') {
    await timedLoad(rest, loadInBlocks);
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
    console.error('usage: node bench/duckdb-anchor.mjs load|floor LOG DB THREADS MEMORY | query DB THREADS MEMORY SQL');
    process.exit(2);
  }
}
