// Log index benchmark: selfscope against anchors run beside it, in one run per size.
// - The cold index, in a process of its own (bench/index-once.mjs), against DuckDB's own load of
//   the same file (bench/duckdb-anchor.mjs: read_ndjson into a table of a fresh database file,
//   with selfscope's threads and memory limit): CPU (user + system), wall, peak RSS, file size;
//   and the floor (duckdb-anchor.mjs floor): the same columns loaded with offset ids, the way
//   selfscope's bulk load must, without the log model.
// - A second process's first answer while another holds the index, and the first answer after
//   a restart (bench/index-child.mjs), against a new process reopening DuckDB's file.
// - Warm: get_log_event and three queries against DuckDB reading the NDJSON file directly, a
//   naive Node.js readline + JSON.parse scan, and jq; append-to-queryable time.
// Prints figures with the targets beside them, and writes the "Log index" and "Shared index
// and cold ingest" sections of bench/RESULTS.md. Never fails on a time.
//   node bench/logs.mjs [--quick] [--events N] [--large] [--large-events N] [--runs R] [--seed S] [--skip-jq] [--root DIR]
// --quick: 200,000 events, one run of each figure, RESULTS.md left as it is.
// --large (or SELFSCOPE_BENCH_LARGE=1) adds a second size, 5M events by default: generating
// it takes minutes (3.3 GB) and indexing it several more, so it is opt-in. Generated files
// are kept under $SELFSCOPE_BENCH_DATA (default <tmp>/selfscope-bench-data), one per size and
// seed, for later runs; nothing is written inside the repository but bench/RESULTS.md.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { writeLog, makeLine, rng } from './generate.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
// --root: the build to measure (a directory holding dist/), e.g. a copy of an earlier one.
const root = path.resolve(arg('root', path.join(here, '..')));
// Every process here (selfscope's, DuckDB's anchors, this one) runs DuckDB with the allocator
// options selfscope gives it (src/core/state/duckdb.ts), set before any of them loads it.
const { ALLOCATOR_ENV, ALLOCATOR_DEFAULTS } = await import(path.join(root, 'dist', 'core', 'state', 'duckdb.js')).catch(() => ({}));
if (ALLOCATOR_ENV && !process.env[ALLOCATOR_ENV]) process.env[ALLOCATOR_ENV] = ALLOCATOR_DEFAULTS;
const allocator = ALLOCATOR_ENV ? `${ALLOCATOR_ENV}=${process.env[ALLOCATOR_ENV]}` : null;
const QUICK = process.argv.includes('--quick');
const EVENTS = Number(arg('events', QUICK ? 200_000 : 1_000_000));
const LARGE = process.argv.includes('--large') || process.env.SELFSCOPE_BENCH_LARGE === '1';
const LARGE_EVENTS = Number(arg('large-events', 5_000_000));
const RUNS = Number(arg('runs', QUICK ? 1 : 5));
// Repetitions of each process-level figure (first answer of a new process, restart).
const PROC_RUNS = QUICK ? 1 : Math.min(RUNS, 3);
const SEED = Number(arg('seed', 1));
const READ_CHUNK = 8 << 20;
const SKIP_JQ = process.argv.includes('--skip-jq');
const dataDir = process.env.SELFSCOPE_BENCH_DATA ?? path.join(os.tmpdir(), 'selfscope-bench-data');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(fn, runs) {
  const ts = [];
  let out;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    out = await fn(i);
    ts.push(performance.now() - t);
  }
  return { ms: median(ts), out };
}
const ms = (v) => (v === null ? '—' : v >= 100 ? `${v.toFixed(0)} ms` : `${v.toFixed(1)} ms`);
const ratio = (anchor, own) => (anchor === null ? '—' : `${(anchor / own).toFixed(anchor / own >= 10 ? 0 : 1)}×`);
// The other way round, for costs where the target is a multiple of the anchor's: own / anchor.
const over = (own, anchor) => (anchor ? `${(own / anchor).toFixed(own / anchor >= 10 ? 0 : 2)}×` : '—');
const secs = (v) => `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)} s`;
const cpu = (v) => `${v.toFixed(v >= 10 ? 0 : 1)} s`;
const perS = (events, s) => `${Math.round(events / s).toLocaleString('en')} events/s`;
const fmt = (n) => n.toLocaleString('en');
// Targets are printed beside the figures, as information: a benchmark never fails.
const target = (text, ok) => `[target ${text}: ${ok ? 'met' : 'not met'}]`;
const LARGE_SIZE = 5_000_000;
// A target set for 5M events, read against a figure of this size.
const targetAt5M = (text, ok, events) => (events >= LARGE_SIZE ? target(text, ok) : `[target ${text} at 5M: ${ok ? 'met' : 'not met'} at this size]`);

// A child process printing one JSON object; null (and its stderr shown) when it fails.
function child(args) {
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (run.status !== 0) {
    console.log(`(${path.basename(args[0])} ${args[1] ?? ''} failed: exit ${run.status ?? run.signal})\n${run.stderr.slice(-3000)}`);
    return null;
  }
  return JSON.parse(run.stdout);
}
// A child that answers one query; fromSpawnMs: from just before its spawn to its answer.
function answerChild(args) {
  const spawnAt = performance.timeOrigin + performance.now();
  const out = child(args);
  return out && { ...out, fromSpawnMs: out.answeredAt - spawnAt };
}
// The process that holds the index while another asks it: resolves once it is up to date.
async function holdIndex(repo) {
  const proc = spawn(process.execPath, [path.join(here, 'index-child.mjs'), 'hold', repo, root], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr.on('data', (c) => (err += c));
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const ready = await new Promise((resolve) => {
    proc.stdout.on('data', (c) => {
      out += c;
      if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
    });
    void exited.then(() => resolve(null));
  });
  if (!ready) console.log(`(index-child.mjs hold failed)\n${err.slice(-3000)}`);
  return {
    ready,
    async stop() {
      proc.stdin.end();
      await exited;
    },
  };
}
const medianBy = (xs, key) => (xs.length ? median(xs.map((x) => x[key])) : null);

const FAIL_SQL = `(level = 'error' OR regexp_matches(event, '_(failed|error)$') OR coalesce(error, '') <> '')`;
const FAIL_JQ = `(.level == "error" or (.event | test("_(failed|error)$")) or ((.metadata.error? // "") != ""))`;
const LATENCY_JQ = `(.metadata.durationMs? // .metadata.runtimeMs? // .metadata.latencyMs? // .metadata.elapsedMs? // .metadata.totalMs? // .metadata.performance.totalMs?)`;
// jq builds arrays and groups them (group_by): `reduce ... .[$k] += 1` copies its object on
// every update in jq 1.6/1.7, quadratic in the number of keys, and made jq look ~20× slower.
function queries(since) {
  return {
    q1_errors_by_kind_24h: {
      sql: `SELECT kind, count(*) AS n FROM logs WHERE ts >= '${since}'::TIMESTAMP AND is_failure GROUP BY kind`,
      duckdb: `SELECT kind, count(*) AS n FROM raw WHERE ts >= '${since}'::TIMESTAMP AND ${FAIL_SQL} GROUP BY kind`,
      jq: `[inputs | select(.ts >= "${since}" and ${FAIL_JQ}) | .kind] | group_by(.) | map({(.[0]): length}) | add`,
    },
    q2_p95_latency_by_kind: {
      // As query_runtime_logs runs it (aggregate mode): exact, or estimated past EXACT_PERCENTILE_ROWS.
      aggregate: { filters: {}, group_by: ['kind'], metrics: ['p95'], limit: 100 },
      duckdb: `SELECT kind, quantile_cont(latency_ms, 0.95) AS p95 FROM raw GROUP BY kind`,
      jq: `[inputs | {k: .kind, v: ${LATENCY_JQ}} | select(.v != null)] | group_by(.k) | map({(.[0].k): (map(.v) | sort | .[(length * 0.95 | floor)])}) | add`,
    },
    q3_error_rate_per_kind_per_10m: {
      sql: `SELECT kind, time_bucket(INTERVAL 10 MINUTE, ts) AS b, count(*) FILTER (WHERE is_failure) / count(*) AS rate FROM logs GROUP BY ALL`,
      duckdb: `SELECT kind, time_bucket(INTERVAL 10 MINUTE, ts) AS b, count(*) FILTER (WHERE ${FAIL_SQL}) / count(*) AS rate FROM raw GROUP BY ALL`,
      jq: `[inputs | {k: (.kind + "|" + .ts[0:15]), f: ${FAIL_JQ}}] | group_by(.k) | map({(.[0].k): ((map(select(.f)) | length) / length)}) | add | length`,
    },
  };
}

// jq's anchors must group with group_by (see above); a `reduce` would make jq look slow.
const unfairJq = Object.entries(queries(new Date(0).toISOString())).filter(([, q]) => !q.jq.includes('group_by(') || /\breduce\b/.test(q.jq));
console.log(unfairJq.length ? `warning: the jq anchors of ${unfairJq.map(([n]) => n).join(', ')} do not use the group_by form; their ratios are not fair` : 'jq anchors: every one groups with group_by (checked)');
// The first query a new process answers (q1) and its anchor over DuckDB's loaded table.
const firstQuery = (since) => ({
  sql: queries(since).q1_errors_by_kind_24h.sql,
  anchor: `SELECT kind, count(*) AS n FROM t WHERE ts >= '${since}'::TIMESTAMP AND (level = 'error' OR regexp_matches(event, '_(failed|error)$') OR coalesce(json_extract_string(metadata, '$.error'), '') <> '') GROUP BY kind`,
});

function latencyOf(m) {
  if (!m) return null;
  for (const v of [m.durationMs, m.runtimeMs, m.latencyMs, m.elapsedMs, m.totalMs, m.performance?.totalMs]) if (typeof v === 'number') return v;
  return null;
}
const isFail = (l) => l.level === 'error' || /_(failed|error)$/.test(l.event ?? '') || (l.metadata?.error ?? '') !== '';
async function naive(logFile, query, since) {
  const rl = readline.createInterface({ input: fs.createReadStream(logFile), crlfDelay: Infinity });
  const acc = new Map();
  for await (const text of rl) {
    const l = JSON.parse(text);
    if (query.startsWith('q1')) {
      if (l.ts >= since && isFail(l)) acc.set(l.kind, (acc.get(l.kind) ?? 0) + 1);
    } else if (query.startsWith('q2')) {
      const v = latencyOf(l.metadata);
      if (v !== null) (acc.get(l.kind) ?? acc.set(l.kind, []).get(l.kind)).push(v);
    } else {
      const k = `${l.kind}|${l.ts.slice(0, 15)}`;
      const e = acc.get(k) ?? acc.set(k, { n: 0, f: 0 }).get(k);
      e.n++;
      if (isFail(l)) e.f++;
    }
  }
  return acc.size;
}

async function benchSize(events, { full }) {
  fs.mkdirSync(dataDir, { recursive: true });
  const cached = path.join(dataDir, `log-${events}-seed${SEED}.ndjson`);
  // Files of seed 1 were once named by size alone.
  const legacy = path.join(dataDir, `log-${events}.ndjson`);
  if (!fs.existsSync(cached) && SEED === 1 && fs.existsSync(legacy)) fs.renameSync(legacy, cached);
  if (!fs.existsSync(cached)) {
    process.stdout.write(`generating ${events.toLocaleString('en')} events into ${cached}... `);
    const t = performance.now();
    writeLog(`${cached}.part`, { events, days: 7, seed: SEED, end: Date.now() });
    fs.renameSync(`${cached}.part`, cached);
    console.log(`${((performance.now() - t) / 1000).toFixed(0)} s`);
  }
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'selfscope-bench-logs-'));
  const logDir = path.join(repo, 'data', 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, 'runtime-actions.ndjson');
  // The appending figure writes to the file: it gets a copy; a large file is linked, not appended to.
  if (full) fs.copyFileSync(cached, logFile);
  else {
    try {
      fs.linkSync(cached, logFile);
    } catch {
      fs.copyFileSync(cached, logFile);
    }
  }
  const bytes = fs.statSync(logFile).size;
  const lastLine = JSON.parse(execFileSync('tail', ['-n', '1', logFile]).toString());
  const now = Date.parse(lastLine.ts) + 1000;
  const since = new Date(now - 86_400_000).toISOString();
  const Q = queries(since);

  // Both the cold index and its anchor read the file from the page cache: neither pays for the disk.
  const warm = Buffer.alloc(READ_CHUNK);
  const fd = fs.openSync(logFile, 'r');
  while (fs.readSync(fd, warm, 0, READ_CHUNK, null) > 0);
  fs.closeSync(fd);
  // --- cold index, in a child process so that its CPU and peak RSS are its own; then DuckDB's
  // own load of the same file, with the same threads and memory limit, in another
  const { loadConfig } = await import(path.join(root, 'dist', 'config', 'load.js'));
  const config = await loadConfig({ cwd: repo, env: {}, flags: { repo } });
  const indexing = child([path.join(here, 'index-once.mjs'), repo, root]);
  if (!indexing) {
    fs.rmSync(repo, { recursive: true, force: true });
    return null;
  }
  console.log(`cold index, selfscope: ${secs(indexing.ms)} wall (${perS(events, indexing.ms / 1000)}), ${cpu(indexing.cpuS)} CPU (user ${cpu(indexing.userS)} + system ${cpu(indexing.sysS)}; ${perS(events, indexing.cpuS)} of CPU), peak RSS ${indexing.maxRssMb} MB, index ${indexing.indexMb} MB ${target('≥ 200k events/s on an idle machine', events / (indexing.ms / 1000) >= 200_000)}`);
  const anchorDir = path.join(repo, 'duckdb-anchor');
  fs.mkdirSync(anchorDir);
  const anchorDb = path.join(anchorDir, 'load.duckdb');
  const { threads } = config.limits;
  // DuckDB's own load with selfscope's memory limit; read_ndjson of a whole file may need more
  // (it runs out of memory under 256 MB at 1M events), and then gets 512 MB, as it says.
  let memoryLimit = config.limits.memoryLimit;
  let load = child([path.join(here, 'duckdb-anchor.mjs'), 'load', logFile, anchorDb, String(threads), memoryLimit]);
  if (!load && memoryLimit !== '512MB') {
    memoryLimit = '512MB';
    for (const f of [anchorDb, `${anchorDb}.wal`]) fs.rmSync(f, { force: true });
    console.log(`  DuckDB's load again, with memory_limit ${memoryLimit}:`);
    load = child([path.join(here, 'duckdb-anchor.mjs'), 'load', logFile, anchorDb, String(threads), memoryLimit]);
  }
  if (load) {
    load.memoryLimit = memoryLimit;
    console.log(`cold load, DuckDB read_ndjson into a table (threads ${threads}, memory_limit ${memoryLimit}${allocator ? `, ${allocator}` : ''}): ${secs(load.ms)} wall (${perS(load.rows, load.ms / 1000)}), ${cpu(load.cpuS)} CPU (user ${cpu(load.userS)} + system ${cpu(load.sysS)}), peak RSS ${load.maxRssMb} MB, file ${load.fileMb} MB`);
    console.log(
      `  selfscope ÷ DuckDB: CPU ${over(indexing.cpuS, load.cpuS)} ${target('≤ 1.0×', indexing.cpuS <= load.cpuS)}, wall ${over(indexing.ms, load.ms)}, peak RSS ${over(indexing.maxRssMb, load.maxRssMb)} ${targetAt5M('≤ 600 MB', indexing.maxRssMb <= 600, events)}, size ${over(indexing.indexMb, load.fileMb)}`,
    );
  }

  // The floor: the anchor's columns loaded the way selfscope must load them to give each row its
  // offset id (duckdb-anchor.mjs floor), with selfscope's memory limit; what the log model costs
  // is selfscope's figure over this one.
  const floorDb = path.join(anchorDir, 'floor.duckdb');
  const floor = child([path.join(here, 'duckdb-anchor.mjs'), 'floor', logFile, floorDb, String(threads), config.limits.memoryLimit]);
  fs.rmSync(floorDb, { force: true });
  if (floor) {
    console.log(
      `floor, the anchor's columns with offset ids, in selfscope's blocks (threads 1, memory_limit ${config.limits.memoryLimit}): ${secs(floor.ms)} wall (${perS(floor.rows, floor.ms / 1000)}), ${cpu(floor.cpuS)} CPU, peak RSS ${floor.maxRssMb} MB, file ${floor.fileMb} MB${load ? ` | floor ÷ DuckDB's load: CPU ${over(floor.cpuS, load.cpuS)}, wall ${over(floor.ms, load.ms)}` : ''} | selfscope ÷ floor: CPU ${over(indexing.cpuS, floor.cpuS)}, wall ${over(indexing.ms, floor.ms)}`,
    );
  }

  // --- a new process's first answer (q1, through LogIndex.all as a tool calls it): while another
  // process holds the index (this one is its client), and after a restart (this one reopens it);
  // the anchor: a new process reopening DuckDB's loaded file and answering the same query
  const first = firstQuery(since);
  const second = [];
  const restart = [];
  const reopen = [];
  for (let i = 0; i < PROC_RUNS; i++) {
    const holder = await holdIndex(repo);
    try {
      const answer = holder.ready && answerChild([path.join(here, 'index-child.mjs'), 'query', repo, root, first.sql]);
      second.push(answer && { ...answer, holderReadyMs: holder.ready.readyMs });
    } finally {
      await holder.stop();
    }
    restart.push(answerChild([path.join(here, 'index-child.mjs'), 'query', repo, root, first.sql]));
    if (load) reopen.push(answerChild([path.join(here, 'duckdb-anchor.mjs'), 'query', anchorDb, String(threads), memoryLimit, first.anchor]));
  }
  const procs = {
    second: second.every(Boolean) && second.length ? { fromSpawnMs: medianBy(second, 'fromSpawnMs'), answerMs: medianBy(second, 'answerMs'), openMs: medianBy(second, 'openMs'), roles: [...new Set(second.map((x) => x.role))].join(', '), holderReadyMs: medianBy(second, 'holderReadyMs') } : null,
    restart: restart.every(Boolean) && restart.length ? { fromSpawnMs: medianBy(restart, 'fromSpawnMs'), answerMs: medianBy(restart, 'answerMs'), openMs: medianBy(restart, 'openMs'), roles: [...new Set(restart.map((x) => x.role))].join(', '), maxRssMb: medianBy(restart, 'maxRssMb') } : null,
    reopen: reopen.every(Boolean) && reopen.length ? { fromSpawnMs: medianBy(reopen, 'fromSpawnMs'), answerMs: medianBy(reopen, 'answerMs') } : null,
    runs: PROC_RUNS,
  };
  const runsNote = PROC_RUNS > 1 ? ` (medians of ${PROC_RUNS})` : '';
  const anchorNote = (own) => (procs.reopen ? ` | DuckDB reopening its file in a new process: ${ms(procs.reopen.fromSpawnMs)} from spawn, ${ms(procs.reopen.answerMs)} from open; selfscope ÷ DuckDB ${over(own, procs.reopen.fromSpawnMs)} from spawn` : '');
  if (procs.second) {
    console.log(
      `second process's first answer while another holds the index: ${ms(procs.second.fromSpawnMs)} from spawn, ${ms(procs.second.answerMs)} from open() (as ${procs.second.roles}; open ${ms(procs.second.openMs)})${runsNote}${anchorNote(procs.second.fromSpawnMs)} ${targetAt5M('≤ 1 s', procs.second.fromSpawnMs <= 1000, events)}`,
    );
  }
  if (procs.restart) console.log(`restart, a new process's first answer from the built index: ${ms(procs.restart.fromSpawnMs)} from spawn, ${ms(procs.restart.answerMs)} from open() (as ${procs.restart.roles}; open ${ms(procs.restart.openMs)})${runsNote}${anchorNote(procs.restart.fromSpawnMs)}`);

  // --- warm selfscope: the engines behind get_log_event and query_runtime_logs
  const { LogIndex } = await import(path.join(root, 'dist', 'core', 'logs', 'log-index.js'));
  const query = await import(path.join(root, 'dist', 'core', 'logs', 'query.js'));
  const index = await LogIndex.open({ repo, logs: config.logs, stateDirPath: config.stateDirPath, schema: config.schema, limits: { ...config.limits, queryTimeoutMs: 600_000 }, logger: { log() {} } });
  await index.refresh();
  const bounds = { fieldBytes: config.limits.fieldBytes, maxBytes: 1 << 20 };

  const duck = await DuckDBInstance.create(':memory:', { threads: '2' });
  const dconn = await duck.connect();
  await dconn.run(
    `CREATE VIEW raw AS SELECT ts::TIMESTAMP AS ts, level, kind, event, coalesce(TRY_CAST(json_extract(metadata, '$.durationMs') AS DOUBLE), TRY_CAST(json_extract(metadata, '$.runtimeMs') AS DOUBLE), TRY_CAST(json_extract(metadata, '$.latencyMs') AS DOUBLE), TRY_CAST(json_extract(metadata, '$.elapsedMs') AS DOUBLE), TRY_CAST(json_extract(metadata, '$.totalMs') AS DOUBLE), TRY_CAST(json_extract(metadata, '$.performance.totalMs') AS DOUBLE)) AS latency_ms, json_extract_string(metadata, '$.error') AS error FROM read_ndjson('${logFile}', columns = {ts: 'VARCHAR', level: 'VARCHAR', kind: 'VARCHAR', event: 'VARCHAR', metadata: 'JSON'}, maximum_object_size = 67108864)`,
  );
  const anchorRuns = full ? Math.min(RUNS, 3) : 1;

  // --- get_log_event: the lookup by id (getEvent), against the id-only scan it replaced
  const ids = (await index.query('SELECT id FROM logs USING SAMPLE 25 ROWS', [])).rows.map((r) => r.id);
  // The first pass reads each id's row group from disk; the second finds them in DuckDB's buffers.
  const lookupFirst = await time((i) => query.getEvent(index, ids[i % ids.length]), ids.length);
  const lookup = await time((i) => query.getEvent(index, ids[i % ids.length]), ids.length);
  const byIdOnly = await time((i) => index.query('SELECT * FROM logs WHERE id = ? LIMIT 1', [ids[i % ids.length]]), Math.min(ids.length, 7));
  const found = (await Promise.all(ids.slice(0, 5).map((id) => query.getEvent(index, id)))).every((row, i) => row?.id === ids[i]);

  // --- queries
  const results = [];
  for (const [name, q] of Object.entries(Q)) {
    const own = q.aggregate ? await time(() => query.aggregate(index, q.aggregate, bounds), RUNS) : await time(() => index.all(q.sql), RUNS);
    const d = await time(async () => (await dconn.runAndReadAll(q.duckdb)).currentRowCount, anchorRuns);
    const n = full ? await time(() => naive(logFile, name, since), 1) : null;
    const j = full && !SKIP_JQ ? await time(() => spawnSync('jq', ['-n', q.jq, logFile], { maxBuffer: 1 << 30 }).status, 1) : null;
    results.push({ name, own: own.ms, duckdb: d.ms, naive: n?.ms ?? null, jq: j?.ms ?? null, estimated: q.aggregate ? own.out.rows.some((r) => r.percentiles_estimated === true) : null });
  }

  // --- Q2's percentile functions side by side, and the estimate's error against the exact value
  const p95 = {};
  for (const [fn, sql] of [
    ['quantile_cont (exact)', 'SELECT kind, quantile_cont(latency_ms, 0.95) AS p FROM logs GROUP BY kind'],
    ['reservoir_quantile (sample)', `SELECT kind, reservoir_quantile(latency_ms, 0.95, ${query.PERCENTILE_SAMPLE ?? 8192}) AS p FROM logs GROUP BY kind`],
    ['approx_quantile (t-digest)', 'SELECT kind, approx_quantile(latency_ms, 0.95) AS p FROM logs GROUP BY kind'],
  ]) {
    const r = await time(() => index.query(sql, []), RUNS);
    p95[fn] = { ms: r.ms, values: Object.fromEntries(r.out.rows.map((x) => [x.kind, x.p])) };
  }
  const exact = p95['quantile_cont (exact)'].values;
  const errorOf = (values) => Math.max(...Object.keys(exact).filter((k) => exact[k] !== null).map((k) => Math.abs(values[k] - exact[k]) / exact[k]));

  // --- 1,000 appended lines queryable (on the copied file only)
  let append = null;
  if (full) {
    const r = rng(99);
    const appended = Array.from({ length: 1000 }, (_, i) => JSON.stringify(makeLine(r, now + i, events + i))).join('\n') + '\n';
    const before = (await index.all('SELECT count(*) AS n FROM logs'))[0].n;
    const t = performance.now();
    fs.appendFileSync(logFile, appended);
    const after = (await index.all('SELECT count(*) AS n FROM logs'))[0].n;
    append = { ms: performance.now() - t, rows: after - before };
  }
  const noop = await time(() => index.refresh(), 20);
  await index.close();
  dconn.closeSync();
  duck.closeSync();
  fs.rmSync(repo, { recursive: true, force: true });
  return { events, bytes, indexing, load, floor, procs, lookup: lookup.ms, lookupFirst: lookupFirst.ms, byIdOnly: byIdOnly.ms, found, results, p95, p95Error: { reservoir: errorOf(p95['reservoir_quantile (sample)'].values), tdigest: errorOf(p95['approx_quantile (t-digest)'].values) }, append, noop: noop.ms, anchorRuns };
}

// The targets, each with the figure it is read against, at one size.
function targetChecks(r) {
  const q2 = r.results.find((x) => x.name.startsWith('q2'));
  return [
    { text: 'cold index CPU ≤ 1.0× DuckDB\'s', ok: r.load ? r.indexing.cpuS <= r.load.cpuS : null, value: r.load ? over(r.indexing.cpuS, r.load.cpuS) : '—' },
    { text: '≥ 200k events/s', ok: r.events / (r.indexing.ms / 1000) >= 200_000, value: perS(r.events, r.indexing.ms / 1000) },
    { text: 'peak RSS ≤ 600 MB', ok: r.indexing.maxRssMb <= 600, value: `${r.indexing.maxRssMb} MB` },
    { text: 'second process\'s first answer ≤ 1 s', ok: r.procs.second ? r.procs.second.fromSpawnMs <= 1000 : null, value: r.procs.second ? ms(r.procs.second.fromSpawnMs) : '—' },
    { text: 'append → queryable ≤ 1 s', ok: r.append ? r.append.ms <= 1000 : null, value: r.append ? ms(r.append.ms) : '—' },
    { text: 'Q2 ≤ 60 ms', ok: q2.own <= 60, value: ms(q2.own) },
    { text: 'get_log_event ≤ 10 ms', ok: r.lookup <= 10, value: ms(r.lookup) },
  ];
}

const loadAtStart = os.loadavg()[0];
const sizes = [EVENTS, ...(LARGE ? [LARGE_EVENTS] : [])];
const out = [];
for (const [i, events] of sizes.entries()) {
  console.log(`\n-- ${events.toLocaleString('en')} events`);
  const r = await benchSize(events, { full: i === 0 });
  if (!r) continue;
  out.push(r);
  console.log(`get_log_event lookup (median of 25 ids): ${ms(r.lookup)} (first touch ${ms(r.lookupFirst)}) | the id-only scan it replaced ${ms(r.byIdOnly)} (${ratio(r.byIdOnly, r.lookup)}) | found ${r.found ? 'all' : 'NOT ALL'} ${targetAt5M('≤ 10 ms', r.lookup <= 10, events)}`);
  for (const x of r.results) {
    const goal = x.name.startsWith('q2') ? ` ${targetAt5M('≤ 60 ms', x.own <= 60, events)}` : '';
    console.log(`${x.name}: selfscope ${ms(x.own)}${x.estimated === null ? '' : x.estimated ? ' (estimated percentiles)' : ' (exact percentiles)'} | DuckDB on the NDJSON ${ms(x.duckdb)} (${ratio(x.duckdb, x.own)}) | Node naive ${ms(x.naive)} (${ratio(x.naive, x.own)}) | jq ${ms(x.jq)} (${ratio(x.jq, x.own)})${goal}`);
  }
  console.log(`p95 by kind over all ${events.toLocaleString('en')} events: ${Object.entries(r.p95).map(([k, v]) => `${k} ${ms(v.ms)}`).join(' | ')}; largest error against exact: reservoir ${(r.p95Error.reservoir * 100).toFixed(2)}%, t-digest ${(r.p95Error.tdigest * 100).toFixed(2)}%`);
  if (r.append) console.log(`1,000 appended lines queryable ${ms(r.append.ms)} (${r.append.rows} new rows) ${target('≤ 1 s', r.append.ms <= 1000)}; refresh when nothing changed ${r.noop.toFixed(2)} ms`);
}

for (const r of out) console.log(`\ntargets at ${fmt(r.events)} events${r.events < LARGE_SIZE ? ` (most are set for ${fmt(LARGE_SIZE)})` : ''}: ${targetChecks(r).map((c) => `${c.text}: ${c.ok === null ? 'not measured' : c.ok ? 'met' : 'NOT MET'} (${c.value})`).join('; ')}`);
if (out.length > 0 && QUICK) console.log('\n(--quick: bench/RESULTS.md left as it is)');
if (out.length > 0 && !QUICK) {
  const cpuModel = os.cpus()[0]?.model ?? 'cpu';
  const lines = [
    '# Benchmark results',
    '',
    `Machine: ${os.cpus().length} × ${cpuModel}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}, load average ${os.loadavg()[0].toFixed(1)} at the end. Date: ${new Date().toISOString().slice(0, 10)}.`,
    `Data: bench/generate.mjs (seed ${SEED}, 7 days). Command: \`npm run bench${LARGE ? ' -- --large' : ''}\`. Ratios are the anchor's time over selfscope's (how many times faster selfscope is); medians of ${RUNS} warm runs for selfscope, of ${out[0].anchorRuns} for DuckDB on the NDJSON, one run for the Node scan and jq (run at the first size only).`,
    '',
    '## Log index',
    '',
    '| figure | ' + out.map((r) => `${r.events.toLocaleString('en')} events (${(r.bytes / 1e6).toFixed(0)} MB)`).join(' | ') + ' |',
    '| --- | ' + out.map(() => '---').join(' | ') + ' |',
    `| initial index | ${out.map((r) => `${(r.indexing.ms / 1000).toFixed(1)} s (${Math.round(r.events / (r.indexing.ms / 1000)).toLocaleString('en')} events/s)`).join(' | ')} |`,
    `| peak RSS while indexing | ${out.map((r) => `${r.indexing.maxRssMb} MB`).join(' | ')} |`,
    `| index file | ${out.map((r) => `${r.indexing.indexMb} MB`).join(' | ')} |`,
    `| get_log_event lookup (by offset and id; warm, first touch) | ${out.map((r) => `${ms(r.lookup)}, ${ms(r.lookupFirst)} (id-only scan ${ms(r.byIdOnly)}, ${ratio(r.byIdOnly, r.lookup)})`).join(' | ')} |`,
    ...Object.keys(out[0].results).map((_, qi) => `| ${out[0].results[qi].name} | ${out.map((r) => { const x = r.results[qi]; return `${ms(x.own)}${x.estimated ? ' (estimated)' : ''}; vs DuckDB ${ratio(x.duckdb, x.own)}${x.jq !== null ? `, vs jq ${ratio(x.jq, x.own)}` : ''}${x.naive !== null ? `, vs Node ${ratio(x.naive, x.own)}` : ''}`; }).join(' | ')} |`),
    ...Object.keys(out[0].p95).map((fn) => `| p95 by kind, ${fn} | ${out.map((r) => ms(r.p95[fn].ms)).join(' | ')} |`),
    `| largest p95 error against exact: reservoir / t-digest | ${out.map((r) => `${(r.p95Error.reservoir * 100).toFixed(2)}% / ${(r.p95Error.tdigest * 100).toFixed(2)}%`).join(' | ')} |`,
    `| 1,000 appended lines queryable | ${out.map((r) => (r.append ? `${ms(r.append.ms)} (${r.append.rows} rows)` : '—')).join(' | ')} |`,
    `| refresh when nothing changed | ${out.map((r) => `${r.noop.toFixed(2)} ms`).join(' | ')} |`,
    '',
  ];
  const cell = (f) => out.map((r) => f(r) ?? '—').join(' | ');
  const big = out[out.length - 1];
  const checks = targetChecks(big);
  const shared = [
    '## Shared index and cold ingest',
    '',
    `${new Date().toISOString().slice(0, 10)}, load average ${loadAtStart.toFixed(1)} at the start and ${os.loadavg()[0].toFixed(1)} at the end; the log file read once before, so that both read it from the page cache. Each figure beside its anchor, run in the same loop: the cold index (bench/index-once.mjs: LogIndex.open + refresh in a process of its own) against DuckDB's own load of the same file (bench/duckdb-anchor.mjs: \`CREATE TABLE t AS SELECT * FROM read_ndjson(...)\` into a fresh database file, with selfscope's threads (${big.indexing.threads}), memory limit (${big.indexing.memoryLimit}${big.load && big.load.memoryLimit !== big.indexing.memoryLimit ? `; DuckDB ran out of memory with it, and loaded with ${big.load.memoryLimit}` : ''}) and allocator options${allocator ? ` (${allocator}, in every process of the run)` : ''}). The floor (bench/duckdb-anchor.mjs floor) loads the anchor's columns the way selfscope must to give each row its id (stream and byte offset, which read_ndjson cannot tell): blocks of whole lines bound with their offsets, split and parsed by DuckDB, one statement at a time on one thread; it computes nothing of the log model. CPU is user + system of the whole process, every thread, start-up included. Ratios here are selfscope's figure over the anchor's (below 1× beats it). A new process's first answer is q1 through LogIndex.all, as a tool's first call runs it (bench/index-child.mjs), timed from its spawn and from its open()${out[0].procs.runs > 1 ? `; medians of ${out[0].procs.runs}` : ''}.`,
    '',
    `| figure | ${cell((r) => `${fmt(r.events)} events`)} | target |`,
    `| --- | ${cell(() => '---')} | --- |`,
    `| cold index, selfscope: wall | ${cell((r) => `${secs(r.indexing.ms)} (${perS(r.events, r.indexing.ms / 1000)})`)} | ≥ 200k events/s on an idle machine |`,
    `| cold index, selfscope: CPU (user + system) | ${cell((r) => `${cpu(r.indexing.cpuS)} (${cpu(r.indexing.userS)} + ${cpu(r.indexing.sysS)})`)} | |`,
    `| cold load, DuckDB read_ndjson into a table: wall / CPU | ${cell((r) => r.load && `${secs(r.load.ms)} / ${cpu(r.load.cpuS)}`)} | |`,
    `| CPU, selfscope ÷ DuckDB | ${cell((r) => r.load && over(r.indexing.cpuS, r.load.cpuS))} | ≤ 1.0× |`,
    `| wall, selfscope ÷ DuckDB | ${cell((r) => r.load && over(r.indexing.ms, r.load.ms))} | |`,
    `| floor, DuckDB loading its columns with offset ids in selfscope's blocks: wall / CPU | ${cell((r) => r.floor && `${secs(r.floor.ms)} (${perS(r.events, r.floor.ms / 1000)}) / ${cpu(r.floor.cpuS)}`)} | |`,
    `| CPU, floor ÷ DuckDB / selfscope ÷ floor | ${cell((r) => r.floor && r.load && `${over(r.floor.cpuS, r.load.cpuS)} / ${over(r.indexing.cpuS, r.floor.cpuS)}`)} | |`,
    `| peak RSS: selfscope / DuckDB | ${cell((r) => `${r.indexing.maxRssMb} MB${r.load ? ` / ${r.load.maxRssMb} MB (${over(r.indexing.maxRssMb, r.load.maxRssMb)})` : ''}`)} | ≤ 600 MB at 5M |`,
    `| file: selfscope's index / DuckDB's table | ${cell((r) => `${r.indexing.indexMb} MB${r.load ? ` / ${r.load.fileMb} MB (${over(r.indexing.indexMb, r.load.fileMb)})` : ''}`)} | |`,
    `| second process's first answer while another holds the index: from spawn / from open() | ${cell((r) => r.procs.second && `${ms(r.procs.second.fromSpawnMs)} / ${ms(r.procs.second.answerMs)} (${r.procs.second.roles})`)} | ≤ 1 s at 5M |`,
    `| restart, a new process's first answer from the built index: from spawn / from open() | ${cell((r) => r.procs.restart && `${ms(r.procs.restart.fromSpawnMs)} / ${ms(r.procs.restart.answerMs)}`)} | |`,
    `| anchor: a new process reopening DuckDB's file, first answer from spawn / from open | ${cell((r) => r.procs.reopen && `${ms(r.procs.reopen.fromSpawnMs)} / ${ms(r.procs.reopen.answerMs)}`)} | |`,
    `| 1,000 appended lines queryable | ${cell((r) => r.append && ms(r.append.ms))} | ≤ 1 s |`,
    `| q2_p95_latency_by_kind, warm | ${cell((r) => ms(r.results.find((x) => x.name.startsWith('q2')).own))} | ≤ 60 ms at 5M |`,
    `| get_log_event lookup, warm | ${cell((r) => ms(r.lookup))} | ≤ 10 ms at 5M |`,
    '',
    `Targets at ${fmt(big.events)} events${big.events < LARGE_SIZE ? ` (most are set for ${fmt(LARGE_SIZE)})` : ''}: ${checks.map((c) => `${c.text} ${c.ok === null ? 'not measured' : c.ok ? 'met' : 'not met'} (${c.value})`).join('; ')}.`,
    '',
  ];
  const resultsFile = path.join(here, 'RESULTS.md');
  const previous = fs.existsSync(resultsFile) ? fs.readFileSync(resultsFile, 'utf8') : '';
  // Keep the sections other benchmarks write (anomaly rules, start-up, ...).
  const rest = previous.split(/^## /m).filter((s) => s && !s.startsWith('Log index') && !s.startsWith('Shared index and cold ingest') && !s.startsWith('# Benchmark')).map((s) => `## ${s.replace(/\n+$/, '\n')}`); // one blank line between sections, however many runs
  fs.writeFileSync(resultsFile, [lines.join('\n'), shared.join('\n'), ...rest].join('\n'));
  console.log(`\nwrote bench/RESULTS.md (sections "Log index" and "Shared index and cold ingest")`);
}
