// Log index benchmark: selfscope (index built, warm) against jq, a naive Node.js
// readline + JSON.parse scan, and DuckDB reading the NDJSON file directly, on three
// queries; plus initial indexing time, append-to-queryable time and peak RSS.
// Prints figures and writes bench/RESULTS.md. Never fails on a time.
//   node bench/logs.mjs [--events N] [--runs R] [--skip-jq]
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { writeLog, makeLine, rng } from './generate.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const EVENTS = Number(arg('events', 200_000));
const RUNS = Number(arg('runs', 5));
const SKIP_JQ = process.argv.includes('--skip-jq');

const dataDir = path.join(root, 'bench', 'data');
fs.mkdirSync(dataDir, { recursive: true });
const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'selfscope-bench-logs-'));
const logDir = path.join(repo, 'data', 'logs');
fs.mkdirSync(logDir, { recursive: true });
const logFile = path.join(logDir, 'runtime-actions.ndjson');
const end = Date.now();
const cached = path.join(dataDir, `log-${EVENTS}.ndjson`);
if (!fs.existsSync(cached)) {
  process.stdout.write(`generating ${EVENTS} events... `);
  writeLog(cached, { events: EVENTS, days: 7, seed: 1, end });
  console.log('done');
}
fs.copyFileSync(cached, logFile);
const bytes = fs.statSync(logFile).size;
// "Now" for the 24 h window: the end of the cached file, whatever day it was made.
const lastLine = JSON.parse(execFileSync('tail', ['-n', '1', logFile]).toString());
const now = Date.parse(lastLine.ts) + 1000;
const since = new Date(now - 86_400_000).toISOString();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(fn, runs) {
  const ts = [];
  let out;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    out = await fn();
    ts.push(performance.now() - t);
  }
  return { ms: median(ts), out };
}

const FAIL_SQL = `(level = 'error' OR regexp_matches(event, '_(failed|error)$') OR coalesce(error, '') <> '')`;
const Q = {
  errors_by_kind_24h: {
    selfscope: `SELECT kind, count(*) AS n FROM logs WHERE ts >= '${since}'::TIMESTAMP AND is_failure GROUP BY kind`,
    duckdb: `SELECT kind, count(*) AS n FROM raw WHERE ts >= '${since}'::TIMESTAMP AND ${FAIL_SQL} GROUP BY kind`,
    jq: `reduce (inputs | select(.ts >= "${since}" and (.level == "error" or (.event | test("_(failed|error)$")) or ((.metadata.error? // "") != ""))) | .kind) as $k ({}; .[$k] += 1)`,
  },
  p95_latency_by_kind: {
    selfscope: `SELECT kind, quantile_cont(latency_ms, 0.95) AS p95 FROM logs GROUP BY kind`,
    duckdb: `SELECT kind, quantile_cont(latency_ms, 0.95) AS p95 FROM raw GROUP BY kind`,
    jq: `[inputs | {k: .kind, v: (.metadata.durationMs? // .metadata.runtimeMs? // .metadata.latencyMs? // .metadata.elapsedMs? // .metadata.totalMs? // .metadata.performance.totalMs?)} | select(.v != null)] | group_by(.k) | map({(.[0].k): (map(.v) | sort | .[(length * 0.95 | floor)])}) | add`,
  },
  error_rate_per_kind_per_10m: {
    selfscope: `SELECT kind, time_bucket(INTERVAL 10 MINUTE, ts) AS b, count(*) FILTER (WHERE is_failure) / count(*) AS rate FROM logs GROUP BY ALL`,
    duckdb: `SELECT kind, time_bucket(INTERVAL 10 MINUTE, ts) AS b, count(*) FILTER (WHERE ${FAIL_SQL}) / count(*) AS rate FROM raw GROUP BY ALL`,
    jq: `reduce (inputs | {k: (.kind + "|" + .ts[0:15]), f: (.level == "error" or (.event | test("_(failed|error)$")) or ((.metadata.error? // "") != ""))}) as $x ({}; .[$x.k].n += 1 | .[$x.k].e += (if $x.f then 1 else 0 end)) | map_values(.e / .n) | length`,
  },
};

function latencyOf(m) {
  if (!m) return null;
  for (const v of [m.durationMs, m.runtimeMs, m.latencyMs, m.elapsedMs, m.totalMs, m.performance?.totalMs]) if (typeof v === 'number') return v;
  return null;
}
const isFail = (l) => l.level === 'error' || /_(failed|error)$/.test(l.event ?? '') || (l.metadata?.error ?? '') !== '';
async function naive(query) {
  const rl = readline.createInterface({ input: fs.createReadStream(logFile), crlfDelay: Infinity });
  const acc = new Map();
  for await (const text of rl) {
    const l = JSON.parse(text);
    if (query === 'errors_by_kind_24h') {
      if (l.ts >= since && isFail(l)) acc.set(l.kind, (acc.get(l.kind) ?? 0) + 1);
    } else if (query === 'p95_latency_by_kind') {
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

// --- initial indexing, in a child process so its peak RSS is its own
const child = spawnSync(process.execPath, [path.join(root, 'bench', 'index-once.mjs'), repo], { encoding: 'utf8' });
if (child.status !== 0) {
  console.error(child.stderr);
  process.exit(0);
}
const indexing = JSON.parse(child.stdout);

// --- warm selfscope (the engine behind query_runtime_logs)
const { LogIndex } = await import(path.join(root, 'dist', 'core', 'logs', 'log-index.js'));
const { loadConfig } = await import(path.join(root, 'dist', 'config', 'load.js'));
const config = await loadConfig({ cwd: repo, env: {}, flags: { repo } });
const index = await LogIndex.open({ repo, logs: config.logs, stateDirPath: config.stateDirPath, schema: config.schema, limits: config.limits, logger: { log() {} } });
await index.refresh();

const duck = await DuckDBInstance.create(':memory:', { threads: '2' });
const dconn = await duck.connect();
await dconn.run(
  `CREATE VIEW raw AS SELECT ts::TIMESTAMP AS ts, level, kind, event, coalesce(TRY_CAST(json_extract(metadata, '$.durationMs') AS DOUBLE), TRY_CAST(json_extract(metadata, '$.runtimeMs') AS DOUBLE), TRY_CAST(json_extract(metadata, '$.latencyMs') AS DOUBLE), TRY_CAST(json_extract(metadata, '$.elapsedMs') AS DOUBLE), TRY_CAST(json_extract(metadata, '$.totalMs') AS DOUBLE), TRY_CAST(json_extract(metadata, '$.performance.totalMs') AS DOUBLE)) AS latency_ms, json_extract_string(metadata, '$.error') AS error FROM read_ndjson('${logFile}', columns = {ts: 'VARCHAR', level: 'VARCHAR', kind: 'VARCHAR', event: 'VARCHAR', metadata: 'JSON'}, maximum_object_size = 67108864)`,
);

const results = [];
for (const [name, q] of Object.entries(Q)) {
  const s = await time(() => index.all(q.selfscope), RUNS);
  const d = await time(async () => (await dconn.runAndReadAll(q.duckdb)).currentRowCount, Math.min(RUNS, 3));
  const n = await time(() => naive(name), 1);
  let j = null;
  if (!SKIP_JQ) {
    j = await time(() => spawnSync('jq', ['-n', q.jq, logFile], { maxBuffer: 1 << 30 }).status, 1);
  }
  results.push({ name, selfscope: s.ms, duckdb: d.ms, naive: n.ms, jq: j?.ms ?? null });
  console.log(`${name}: selfscope ${s.ms.toFixed(1)} ms | duckdb direct ${d.ms.toFixed(0)} ms | node naive ${n.ms.toFixed(0)} ms | jq ${j ? `${j.ms.toFixed(0)} ms` : 'skipped'}`);
}

// --- 1,000 appended lines queryable
const r = rng(99);
const appended = Array.from({ length: 1000 }, (_, i) => JSON.stringify(makeLine(r, now + i, EVENTS + i))).join('\n') + '\n';
const before = (await index.all('SELECT count(*) AS n FROM logs'))[0].n;
const tAppend = performance.now();
fs.appendFileSync(logFile, appended);
const after = (await index.all('SELECT count(*) AS n FROM logs'))[0].n;
const appendMs = performance.now() - tAppend;
const noop = await time(() => index.refresh(), 20);
await index.close();

const cpu = os.cpus()[0]?.model ?? 'cpu';
const lines = [
  '# Benchmark results',
  '',
  `Machine: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}. Date: ${new Date().toISOString().slice(0, 10)}.`,
  `Data: ${EVENTS.toLocaleString('en')} events over 7 days, ${(bytes / 1e6).toFixed(0)} MB (bench/generate.mjs, seed 1). Command: \`npm run bench -- --events ${EVENTS}\`.`,
  '',
  '## Log index',
  '',
  `| figure | value |`,
  `| --- | --- |`,
  `| initial index | ${(indexing.ms / 1000).toFixed(2)} s (${Math.round(EVENTS / (indexing.ms / 1000)).toLocaleString('en')} events/s) |`,
  `| peak RSS while indexing | ${indexing.maxRssMb} MB |`,
  `| index file | ${indexing.indexMb} MB |`,
  `| 1,000 appended lines queryable | ${appendMs.toFixed(0)} ms (${after - before} new rows seen) |`,
  `| refresh when nothing changed | ${noop.ms.toFixed(2)} ms |`,
  '',
  `Queries (median of ${RUNS} warm runs for selfscope; DuckDB direct median of ${Math.min(RUNS, 3)}; naive scan and jq one run):`,
  '',
  '| query | selfscope | DuckDB on the NDJSON | Node readline + JSON.parse | jq | vs jq | vs DuckDB |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...results.map((x) => `| ${x.name} | ${x.selfscope.toFixed(1)} ms | ${x.duckdb.toFixed(0)} ms | ${x.naive.toFixed(0)} ms | ${x.jq === null ? 'skipped' : `${x.jq.toFixed(0)} ms`} | ${x.jq === null ? '-' : `${Math.round(x.jq / x.selfscope)}×`} | ${Math.round(x.duckdb / x.selfscope)}× |`),
  '',
];
const resultsFile = path.join(root, 'bench', 'RESULTS.md');
const previous = fs.existsSync(resultsFile) ? fs.readFileSync(resultsFile, 'utf8') : '';
// Keep other sections (the anomaly quality figures) that other benchmarks write.
const rest = previous.split(/^## /m).filter((s) => s && !s.startsWith('Log index') && !s.startsWith('# Benchmark')).map((s) => `## ${s}`);
fs.writeFileSync(resultsFile, [lines.join('\n'), ...rest].join('\n'));
console.log(lines.slice(6).join('\n'));
fs.rmSync(repo, { recursive: true, force: true });
