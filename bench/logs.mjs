// Log index benchmark: selfscope (index built, warm) against anchors run beside it — DuckDB
// reading the NDJSON file directly, a naive Node.js readline + JSON.parse scan, and jq — on
// get_log_event and three queries; plus initial indexing time, peak RSS, append-to-queryable
// time. Prints figures (ratios are anchor time / selfscope time) and writes bench/RESULTS.md.
// Never fails on a time.
//   node bench/logs.mjs [--events N] [--large] [--large-events N] [--runs R] [--skip-jq] [--root DIR]
// --large (or SELFSCOPE_BENCH_LARGE=1) adds a second size, 5M events by default: generating
// it takes minutes (3.3 GB) and indexing it several more, so it is opt-in. Generated files
// are kept under $SELFSCOPE_BENCH_DATA (default <tmp>/selfscope-bench-data) for later runs;
// nothing is written inside the repository but bench/RESULTS.md.
import { execFileSync, spawnSync } from 'node:child_process';
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
const EVENTS = Number(arg('events', 1_000_000));
const LARGE = process.argv.includes('--large') || process.env.SELFSCOPE_BENCH_LARGE === '1';
const LARGE_EVENTS = Number(arg('large-events', 5_000_000));
const RUNS = Number(arg('runs', 5));
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
  const cached = path.join(dataDir, `log-${events}.ndjson`);
  if (!fs.existsSync(cached)) {
    process.stdout.write(`generating ${events.toLocaleString('en')} events into ${cached}... `);
    const t = performance.now();
    writeLog(`${cached}.part`, { events, days: 7, seed: 1, end: Date.now() });
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

  // --- initial indexing, in a child process so its peak RSS is its own
  const child = spawnSync(process.execPath, [path.join(here, 'index-once.mjs'), repo, root], { encoding: 'utf8' });
  if (child.status !== 0) {
    console.error(child.stderr);
    fs.rmSync(repo, { recursive: true, force: true });
    return null;
  }
  const indexing = JSON.parse(child.stdout);

  // --- warm selfscope: the engines behind get_log_event and query_runtime_logs
  const { LogIndex } = await import(path.join(root, 'dist', 'core', 'logs', 'log-index.js'));
  const query = await import(path.join(root, 'dist', 'core', 'logs', 'query.js'));
  const { loadConfig } = await import(path.join(root, 'dist', 'config', 'load.js'));
  const config = await loadConfig({ cwd: repo, env: {}, flags: { repo } });
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
  return { events, bytes, indexing, lookup: lookup.ms, lookupFirst: lookupFirst.ms, byIdOnly: byIdOnly.ms, found, results, p95, p95Error: { reservoir: errorOf(p95['reservoir_quantile (sample)'].values), tdigest: errorOf(p95['approx_quantile (t-digest)'].values) }, append, noop: noop.ms, anchorRuns };
}

const sizes = [EVENTS, ...(LARGE ? [LARGE_EVENTS] : [])];
const out = [];
for (const [i, events] of sizes.entries()) {
  console.log(`\n-- ${events.toLocaleString('en')} events`);
  const r = await benchSize(events, { full: i === 0 });
  if (!r) continue;
  out.push(r);
  console.log(`initial index ${(r.indexing.ms / 1000).toFixed(1)} s (${Math.round(events / (r.indexing.ms / 1000)).toLocaleString('en')} events/s), peak RSS ${r.indexing.maxRssMb} MB, index ${r.indexing.indexMb} MB`);
  console.log(`get_log_event lookup (median of 25 ids): ${ms(r.lookup)} (first touch ${ms(r.lookupFirst)}) | the id-only scan it replaced ${ms(r.byIdOnly)} (${ratio(r.byIdOnly, r.lookup)}) | found ${r.found ? 'all' : 'NOT ALL'}`);
  for (const x of r.results) {
    console.log(`${x.name}: selfscope ${ms(x.own)}${x.estimated === null ? '' : x.estimated ? ' (estimated percentiles)' : ' (exact percentiles)'} | DuckDB on the NDJSON ${ms(x.duckdb)} (${ratio(x.duckdb, x.own)}) | Node naive ${ms(x.naive)} (${ratio(x.naive, x.own)}) | jq ${ms(x.jq)} (${ratio(x.jq, x.own)})`);
  }
  console.log(`p95 by kind over all ${events.toLocaleString('en')} events: ${Object.entries(r.p95).map(([k, v]) => `${k} ${ms(v.ms)}`).join(' | ')}; largest error against exact: reservoir ${(r.p95Error.reservoir * 100).toFixed(2)}%, t-digest ${(r.p95Error.tdigest * 100).toFixed(2)}%`);
  if (r.append) console.log(`1,000 appended lines queryable ${ms(r.append.ms)} (${r.append.rows} new rows); refresh when nothing changed ${r.noop.toFixed(2)} ms`);
}
// Figures of the index shared between processes (a cold index against DuckDB's read_json,
// a second process's first query) belong here, as their own lines and their own RESULTS.md section.

if (out.length > 0) {
  const cpu = os.cpus()[0]?.model ?? 'cpu';
  const lines = [
    '# Benchmark results',
    '',
    `Machine: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}, load average ${os.loadavg()[0].toFixed(1)} at the end. Date: ${new Date().toISOString().slice(0, 10)}.`,
    `Data: bench/generate.mjs (seed 1, 7 days). Command: \`npm run bench${LARGE ? ' -- --large' : ''}\`. Ratios are the anchor's time over selfscope's (how many times faster selfscope is); medians of ${RUNS} warm runs for selfscope, of ${out[0].anchorRuns} for DuckDB on the NDJSON, one run for the Node scan and jq (run at the first size only).`,
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
  const resultsFile = path.join(here, 'RESULTS.md');
  const previous = fs.existsSync(resultsFile) ? fs.readFileSync(resultsFile, 'utf8') : '';
  // Keep the sections other benchmarks write (anomaly rules, start-up, the shared index).
  const rest = previous.split(/^## /m).filter((s) => s && !s.startsWith('Log index') && !s.startsWith('# Benchmark')).map((s) => `## ${s}`);
  fs.writeFileSync(resultsFile, [lines.join('\n'), ...rest].join('\n'));
}
