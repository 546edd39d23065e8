// The anomaly rules and the watcher, measured on simulated weeks of the bot's traffic
// (bench/traffic.mjs): a 7-day warm-up, then at least 21 days with injected incidents. The
// watcher is replayed at its cadence over the whole period, as `selfscope watch` runs; per
// incident, the delay from onset to first notification and how many anomalies it became;
// per rule, false episodes (notifications about no incident) per day; then the time of one
// detect_anomalies evaluation over 1M events. Prints figures; never fails.
// With --around-incidents H the watcher is replayed only from H hours before each incident's
// onset to H hours after its end (spans merged, in time order, one watcher state): the delays
// are those of a watcher at the full cadence, in a fraction of the time; false episodes are
// then counted over the replayed hours only.
//   node bench/anomalies.mjs [--days 28] [--warmup 7] [--per-day 15000] [--cadence 30] [--around-incidents 0] [--from-day 0] [--to-day 21] [--speed-events 1000000] [--seed 1]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeLog } from './generate.mjs';
import { simulate } from './traffic.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { LogIndex } = await import(path.join(root, 'dist', 'core', 'logs', 'log-index.js'));
const { detectAnomalies } = await import(path.join(root, 'dist', 'core', 'anomalies', 'detect.js'));
const { getAnomaly } = await import(path.join(root, 'dist', 'core', 'anomalies', 'state.js'));
const { Watcher } = await import(path.join(root, 'dist', 'core', 'anomalies', 'watcher.js'));
const { DetectCache } = await import(path.join(root, 'dist', 'core', 'anomalies', 'cache.js'));
const { configFileSchema } = await import(path.join(root, 'dist', 'config', 'schema.js'));

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const DAYS = arg('days', 28);
const WARMUP = arg('warmup', 7);
const PER_DAY = arg('per-day', 15_000);
const parsed = configFileSchema.parse({});
const CADENCE_S = arg('cadence', parsed.watch.intervalS);
const SPEED_EVENTS = arg('speed-events', 1_000_000);
const SEED = arg('seed', 1);
const AROUND_H = arg('around-incidents', 0);
// Or only the days [from-day, to-day) after the warm-up.
const FROM_DAY = arg('from-day', 0);
const TO_DAY = arg('to-day', DAYS - WARMUP);
const MIN = 60_000;
const DAY = 86_400_000;
const logger = { log() {} };

async function openIndex(repo, config) {
  const index = await LogIndex.open({ repo, logs: config.logs, stateDirPath: path.join(repo, '.selfscope'), schema: config.schema, limits: config.limits, logger });
  await index.refresh();
  return index;
}

const fmtMin = (ms) => (ms === null ? 'missed' : `${(ms / MIN).toFixed(1)} min`);

async function replay() {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'selfscope-bench-anomalies-'));
  try {
    fs.mkdirSync(path.join(repo, 'data', 'logs'), { recursive: true });
    const end = Date.UTC(2026, 10, 23, 0, 0, 0);
    const t0 = performance.now();
    const sim = simulate(path.join(repo, 'data', 'logs', 'runtime-actions.ndjson'), { perDay: PER_DAY, days: DAYS, warmupDays: WARMUP, end, seed: SEED });
    const config = { ...parsed, repo, stateDirPath: path.join(repo, '.selfscope'), privateDirPath: path.join(repo, 'private') };
    const index = await openIndex(repo, config);
    console.log(`\nSimulated ${DAYS} days (${WARMUP}-day warm-up), ${sim.events.toLocaleString('en')} events, ${sim.incidents.length} incidents (generated and indexed in ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    let now = sim.start + WARMUP * DAY;
    const watcher = new Watcher({ index, config, logger, emit: () => {}, now: () => new Date(now) });
    const notes = [];
    const evalMs = [];
    const stop = sim.start + DAYS * DAY;
    const step = CADENCE_S * 1000;
    // The spans replayed: the whole period, or the hours around each incident (merged).
    const spans = [];
    if (AROUND_H > 0) {
      for (const inc of [...sim.incidents].sort((a, b) => a.start - b.start)) {
        const from = Math.max(now, Math.floor((inc.start - AROUND_H * 3_600_000) / step) * step);
        const to = Math.min(stop, inc.start + inc.durationMs + AROUND_H * 3_600_000);
        if (spans.length && from <= spans.at(-1)[1]) spans.at(-1)[1] = Math.max(spans.at(-1)[1], to);
        else spans.push([from, to]);
      }
    } else spans.push([now + FROM_DAY * DAY, Math.min(stop, now + TO_DAY * DAY)]);
    const replayedDays = spans.reduce((s, [a, b]) => s + (b - a), 0) / DAY;
    const t1 = performance.now();
    let lastReport = 0;
    for (const [from, to] of spans) {
      for (now = from; now < to; now += step) {
        const t = performance.now();
        const result = await watcher.evaluate({ force: true });
        evalMs.push(performance.now() - t);
        if (performance.now() - lastReport > 60_000) {
          lastReport = performance.now();
          process.stderr.write(`  ${new Date(now).toISOString().slice(0, 16)}, ${evalMs.length} evaluations, ${notes.length} notifications\n`);
        }
        for (const n of result.notifications) {
          const rec = await getAnomaly(config.privateDirPath, n.anomaly_id);
          notes.push({ ...n, at: now, signals: rec?.anomaly.signals ?? [], lead: rec?.rule ?? 'unknown' });
        }
      }
    }
    await index.close();
    evalMs.sort((a, b) => a - b);
    const ticks = evalMs.length;
    console.log(`Watcher replayed every ${CADENCE_S} s over ${AROUND_H > 0 ? `${replayedDays.toFixed(1)} days (${spans.length} spans around the incidents, ±${AROUND_H} h)` : `${replayedDays.toFixed(1)} days`}: ${ticks.toLocaleString('en')} evaluations in ${((performance.now() - t1) / 1000).toFixed(0)} s (median ${evalMs[Math.floor(ticks / 2)].toFixed(0)} ms, p95 ${evalMs[Math.floor(ticks * 0.95)].toFixed(0)} ms each)\n`);

    const matched = new Set();
    console.log('| incident | onset (UTC) | first notification after | anomalies notified | rules |');
    console.log('| --- | --- | --- | --- | --- |');
    const delays = [];
    // Incidents whose onset was replayed; the others are not judged.
    for (const inc of sim.incidents.filter((i) => spans.some(([a, b]) => i.start >= a && i.start < b))) {
      const mine = notes.filter((n) => n.at >= inc.start && n.at <= inc.start + inc.durationMs + 2 * 3_600_000 && n.signals.some((s) => inc.matches(s)));
      for (const n of mine) matched.add(n);
      const opened = mine.filter((n) => n.change === 'opened');
      const first = opened[0] ?? mine[0];
      const delay = first ? first.at - inc.start : null;
      delays.push({ inc, delay });
      const ids = new Set(opened.map((n) => n.anomaly_id));
      console.log(`| ${inc.name} | ${new Date(inc.start).toISOString().slice(5, 16)} | ${fmtMin(delay)} | ${ids.size} | ${[...new Set(mine.flatMap((n) => n.signals.map((s) => s.rule)))].join(', ') || '-'} |`);
    }
    const caught = delays.filter((d) => d.delay !== null);
    const within = delays.filter((d) => d.delay !== null && d.delay <= (d.inc.name.startsWith('new error') ? 20 : 15) * MIN);
    console.log(`\nIncidents notified: ${caught.length}/${delays.length}; within target (15 min, new error at ~15/h 20 min): ${within.length}/${delays.length}`);
    const sortedDelays = caught.map((d) => d.delay).sort((a, b) => a - b);
    if (sortedDelays.length) console.log(`Delay to first notification: median ${fmtMin(sortedDelays[Math.floor(sortedDelays.length / 2)])}, max ${fmtMin(sortedDelays.at(-1))}`);

    const days = replayedDays;
    const falses = notes.filter((n) => n.change === 'opened' && !matched.has(n));
    console.log(`\nFalse episodes (opened notifications about no incident) over ${days.toFixed(1)} days: ${falses.length} (${(falses.length / days).toFixed(2)}/day)`);
    console.log('| lead rule | false episodes | per day |');
    console.log('| --- | --- | --- |');
    for (const rule of ['error_rate', 'repeated_error', 'latency_regression', 'new_error', 'cost_spike']) {
      const n = falses.filter((f) => f.lead === rule).length;
      console.log(`| ${rule} | ${n} | ${(n / days).toFixed(2)} |`);
    }
    for (const f of falses.slice(0, 30)) console.log(`  false: ${new Date(f.at).toISOString().slice(5, 16)} ${f.lead} [${f.severity}] ${f.summary.slice(0, 140)}`);
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
  }
}

async function speed() {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'selfscope-bench-anomalies-'));
  try {
    const end = Date.now();
    fs.mkdirSync(path.join(repo, 'data', 'logs'), { recursive: true });
    writeLog(path.join(repo, 'data', 'logs', 'a.ndjson'), { events: SPEED_EVENTS, days: 7, seed: 5, end });
    const config = { ...parsed, repo };
    const t0 = performance.now();
    const index = await openIndex(repo, config);
    const indexMs = performance.now() - t0;
    // Cold: nothing kept (a one-off call). Warm: the server's or the watcher's cache, an evaluation every 30 s.
    const cold = [];
    const warm = [];
    let count = 0;
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      count = (await detectAnomalies(index, { at: new Date(end - i * 30_000), thresholds: config.anomalies })).length;
      cold.push(performance.now() - t);
    }
    const cache = new DetectCache();
    for (let i = 0; i < 21; i++) {
      const t = performance.now();
      await detectAnomalies(index, { at: new Date(end - 3_600_000 + i * 30_000), thresholds: config.anomalies, cache });
      warm.push(performance.now() - t);
    }
    await index.close();
    const p50 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    console.log(`\ndetect_anomalies over ${SPEED_EVENTS.toLocaleString('en')} events (7 days; index built in ${(indexMs / 1000).toFixed(1)} s; ${count} incidents):`);
    console.log(`  without a cache: p50 ${p50(cold).toFixed(0)} ms (first ${cold[0].toFixed(0)} ms), min ${Math.min(...cold).toFixed(0)} ms, max ${Math.max(...cold).toFixed(0)} ms; load average ${os.loadavg()[0].toFixed(1)}`);
    console.log(`  with the cache, every 30 s: p50 ${p50(warm.slice(1)).toFixed(0)} ms (first ${warm[0].toFixed(0)} ms), max ${Math.max(...warm.slice(1)).toFixed(0)} ms`);
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
  }
}

if (DAYS > 0) await replay();
if (SPEED_EVENTS > 0) await speed();
