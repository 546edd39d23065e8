// The anomaly rules, measured: precision and recall per rule on generated incidents (each
// injected into realistic background traffic, next to clean controls), and the time of one
// detect_anomalies evaluation over a large index. Prints figures; never fails.
//   node bench/anomalies.mjs [--trials N] [--events N] [--speed-events N]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rng, writeLog } from './generate.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { LogIndex } = await import(path.join(root, 'dist', 'core', 'logs', 'log-index.js'));
const { detectAnomalies, RULES } = await import(path.join(root, 'dist', 'core', 'anomalies', 'detect.js'));
const { configFileSchema } = await import(path.join(root, 'dist', 'config', 'schema.js'));

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const TRIALS = arg('trials', 8);
const EVENTS = arg('events', 30_000); // over 3 days: ~70 events in a 10-minute window
const SPEED_EVENTS = arg('speed-events', 1_000_000);
const config = configFileSchema.parse({});
const MIN = 60_000;

const toolCall = (ts, tool, { failed = false, error = 'queue state undefined', ms = 300 } = {}) => ({
  ts: new Date(ts).toISOString(),
  source: 'store_action',
  level: failed ? 'error' : 'info',
  kind: failed ? 'voice_error' : 'voice_runtime',
  event: failed ? 'realtime_tool_call_failed' : 'realtime_tool_call_completed',
  agent: 'voice',
  usd_cost: 0,
  content: null,
  metadata: { toolName: tool, runtimeMs: ms, error: failed ? error : null },
});

// Each incident: lines in the last 10 minutes, the rule expected to catch it, and what a
// related anomaly's subject names. Intensities are moderate, not extreme.
const INCIDENTS = {
  error_rate: (end, r) => ({
    rule: 'error_rate',
    marker: 'music_queue_add',
    lines: Array.from({ length: 30 }, (_, i) => toolCall(end - 10 * MIN + i * 19_000, 'music_queue_add', { failed: r() < 0.5, error: 'upstream timeout' })),
  }),
  repeated_error: (end) => ({
    rule: 'repeated_error',
    marker: 'memory_lookup',
    lines: Array.from({ length: 12 }, (_, i) => toolCall(end - 9 * MIN + i * 40_000, 'memory_lookup', { failed: true, error: 'upstream timeout' })),
  }),
  latency_regression: (end, r) => ({
    rule: 'latency_regression',
    marker: 'web_search',
    lines: Array.from({ length: 25 }, (_, i) => toolCall(end - 10 * MIN + i * 23_000, 'web_search', { ms: Math.round(1500 + r() * 1500) })),
  }),
  new_error: (end) => ({
    rule: 'new_error',
    marker: 'set_reminder',
    lines: Array.from({ length: 4 }, (_, i) => toolCall(end - 8 * MIN + i * 90_000, 'set_reminder', { failed: true, error: 'ECONNREFUSED 10.0.0.7:6379' })),
  }),
  cost_spike: (end, r) => ({
    rule: 'cost_spike',
    marker: 'runtime',
    lines: Array.from({ length: 40 }, (_, i) => ({
      ts: new Date(end - 10 * MIN + i * 14_000).toISOString(),
      source: 'store_action',
      level: 'info',
      kind: 'llm_call',
      event: 'claude-oauth:claude-opus-4-1',
      agent: 'runtime',
      usd_cost: Math.round((0.03 + r() * 0.04) * 10000) / 10000,
      content: 'claude-oauth:claude-opus-4-1',
      metadata: { provider: 'claude-oauth', model: 'claude-opus-4-1', durationMs: 3000 },
    })),
  }),
  control: () => ({ rule: null, marker: null, lines: [] }),
};

async function trial(kind, seed) {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'selfscope-bench-anomalies-'));
  try {
    const end = Date.UTC(2026, 10, 20, 12, 0, 0);
    fs.mkdirSync(path.join(repo, 'data', 'logs'), { recursive: true });
    const file = path.join(repo, 'data', 'logs', 'a.ndjson');
    writeLog(file, { events: EVENTS, days: 3, seed, end: end - 10 * MIN });
    // The background goes on through the window, and the incident is added to it.
    const tail = path.join(repo, 'tail.ndjson');
    writeLog(tail, { events: Math.round(EVENTS / (3 * 144)), days: 10 / 1440, seed: seed + 1000, end });
    const incident = INCIDENTS[kind](end, rng(seed + 7));
    fs.appendFileSync(file, fs.readFileSync(tail, 'utf8') + incident.lines.map((l) => JSON.stringify(l)).join('\n') + (incident.lines.length ? '\n' : ''));
    fs.rmSync(tail);
    const index = await LogIndex.open({ repo, logs: config.logs, stateDirPath: path.join(repo, '.selfscope'), schema: config.schema, limits: config.limits, logger: { log() {} } });
    await index.refresh();
    const found = await detectAnomalies(index, { at: new Date(end), thresholds: config.anomalies });
    await index.close();
    return { incident, found };
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
  }
}

const related = (a, marker) => marker !== null && Object.values(a.subject).some((v) => typeof v === 'string' && v.includes(marker));
const tally = Object.fromEntries(RULES.map((r) => [r, { tp: 0, fp: 0, incidents: 0, caught: 0 }]));
let controlsWithAny = 0;
let controls = 0;
const started = performance.now();
for (let s = 1; s <= TRIALS; s++) {
  for (const kind of Object.keys(INCIDENTS)) {
    const { incident, found } = await trial(kind, s * 31);
    if (kind === 'control') {
      controls++;
      if (found.length) controlsWithAny++;
    } else {
      tally[incident.rule].incidents++;
      if (found.some((a) => a.rule === incident.rule && related(a, incident.marker))) tally[incident.rule].caught++;
    }
    for (const a of found) {
      if (related(a, incident.marker)) tally[a.rule].tp++;
      else tally[a.rule].fp++;
    }
  }
}
const pct = (x) => (Number.isFinite(x) ? `${Math.round(x * 1000) / 10}%` : 'n/a');
console.log(`\nAnomaly rules: ${TRIALS} trials of each incident and of a clean control, ${EVENTS.toLocaleString('en')} background events over 3 days each (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
console.log('| rule | recall (its incidents caught) | precision (its anomalies that were real) | false positives |');
console.log('| --- | --- | --- | --- |');
for (const rule of RULES) {
  const t = tally[rule];
  console.log(`| ${rule} | ${pct(t.caught / t.incidents)} (${t.caught}/${t.incidents}) | ${pct(t.tp / (t.tp + t.fp))} (${t.tp}/${t.tp + t.fp}) | ${t.fp} |`);
}
console.log(`\nClean controls with any anomaly: ${controlsWithAny}/${controls}`);

// Speed: one evaluation of all five rules over a large index.
if (SPEED_EVENTS > 0) {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'selfscope-bench-anomalies-'));
  try {
    const end = Date.now();
    fs.mkdirSync(path.join(repo, 'data', 'logs'), { recursive: true });
    const file = path.join(repo, 'data', 'logs', 'a.ndjson');
    writeLog(file, { events: SPEED_EVENTS, days: 7, seed: 5, end });
    const t0 = performance.now();
    const index = await LogIndex.open({ repo, logs: config.logs, stateDirPath: path.join(repo, '.selfscope'), schema: config.schema, limits: config.limits, logger: { log() {} } });
    await index.refresh();
    const indexMs = performance.now() - t0;
    const times = [];
    let count = 0;
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      count = (await detectAnomalies(index, { at: new Date(end), thresholds: config.anomalies })).length;
      times.push(performance.now() - t);
    }
    await index.close();
    times.sort((a, b) => a - b);
    console.log(`\ndetect_anomalies over ${SPEED_EVENTS.toLocaleString('en')} events (7 days; index built in ${(indexMs / 1000).toFixed(1)} s): median ${times[2].toFixed(0)} ms, min ${times[0].toFixed(0)} ms, max ${times[4].toFixed(0)} ms (${count} anomalies)`);
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
  }
}
