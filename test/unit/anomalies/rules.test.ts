import { afterEach, describe, expect, it } from 'vitest';
import { configFileSchema } from '../../../src/config/schema.js';
import { DetectCache } from '../../../src/core/anomalies/cache.js';
import { detectAnomalies, detectSignals, resolveTimes, type Rule } from '../../../src/core/anomalies/detect.js';
import { frameOf, operationBaseline, SAMPLE_MIN } from '../../../src/core/anomalies/rules/common.js';
import { getAnomaly, listAnomalies, recordPastAnomalies, updateAnomalyState } from '../../../src/core/anomalies/state.js';
import { verifyFix } from '../../../src/core/anomalies/verify-fix.js';
import { fingerprint } from '../../../src/core/logs/fingerprint.js';
import type { LogIndex } from '../../../src/core/logs/log-index.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { logLine, type LineOptions } from '../../helpers/log-lines.js';
import { indexLines } from '../../helpers/log-index.js';

const AT = Date.parse('2026-03-13T12:00:00Z');
const MIN = 60_000;
const thresholds = configFileSchema.parse({}).anomalies;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function indexOf(lines: LineOptions[]): Promise<{ index: LogIndex; state: string }> {
  const { index, stateDir, close } = await indexLines(lines, 'selfscope-anomaly-');
  cleanups.push(close);
  return { index, state: stateDir };
}

/** Tool calls of one tool every `stepMs` over [from, to), failing where `fails(i, t)`. */
function calls(tool: string, from: number, to: number, stepMs: number, fails: (i: number, t: number) => boolean, extra: (i: number) => Partial<LineOptions> = () => ({})): LineOptions[] {
  const out: LineOptions[] = [];
  let i = 0;
  for (let t = from; t < to; t += stepMs, i++) {
    const failed = fails(i, t);
    out.push({
      ts: new Date(t),
      kind: failed ? 'voice_error' : 'voice_runtime',
      event: failed ? 'realtime_tool_call_failed' : 'realtime_tool_call_completed',
      metadata: { toolName: tool, runtimeMs: 300, error: failed ? 'queue state undefined' : null },
      ...extra(i),
    });
  }
  return out;
}

const background = (tool: string, failEvery = 200) => calls(tool, AT - 2 * 86_400_000, AT - 10 * MIN, 5 * MIN, (i) => i % failEvery === 7);

async function run(lines: LineOptions[], rules?: Rule[], at = AT) {
  const { index } = await indexOf(lines);
  return detectAnomalies(index, { at: new Date(at), thresholds, ...(rules ? { rules } : {}) });
}

describe('error_rate', () => {
  it('fires on a 40% failure burst, with the operation as subject, its onset and samples', async () => {
    const window = calls('music_queue_add', AT - 10 * MIN, AT, 15_000, (i) => i % 5 < 2);
    const found = await run([...background('music_queue_add'), ...window], ['error_rate']);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ rule: 'error_rate', subject: { operation: 'music_queue_add', tool_name: 'music_queue_add' }, observed: { failures: 16, events: 40 } });
    expect(found[0]!.summary).toMatch(/music_queue_add failing at 40%/);
    expect(Date.parse(found[0]!.onset!)).toBeGreaterThanOrEqual(AT - 10 * MIN);
    expect(Date.parse(found[0]!.onset!)).toBeLessThanOrEqual(AT - 9 * MIN);
    expect(found[0]!.signals.map((s) => s.rule)).toEqual(['error_rate']);
    expect(found[0]!.signals[0]!.p_value).toBeLessThan(thresholds.significance);
    expect(found[0]!.samples.length).toBe(3);
    expect(found[0]!.samples.every((s) => s.error === 'queue state undefined' && s.untrusted)).toBe(true);
  });

  it('fires for a low-traffic tool: 6 failures in 15 calls, no minimum sample count', async () => {
    const burst = calls('music_queue_add', AT - 15 * MIN, AT, MIN, (i) => i % 5 < 2);
    const found = await run([...background('music_queue_add'), ...burst], ['error_rate']);
    expect(found.map((a) => a.subject['operation'])).toEqual(['music_queue_add']);
    expect(found[0]!.observed['failures']).toBeGreaterThanOrEqual(4);
  });

  it('fires off-peak when 5 of 8 calls fail against a 2% baseline', async () => {
    const base = calls('memory_lookup', AT - 2 * 86_400_000, AT - 15 * MIN, 5 * MIN, (i) => i % 50 === 7);
    const burst = calls('memory_lookup', AT - 15 * MIN, AT - MIN, 2 * MIN, (i) => i < 5);
    const found = await run([...base, ...burst], ['error_rate']);
    expect(found.map((a) => [a.subject['operation'], a.observed['failures']])).toEqual([['memory_lookup', 5]]);
  });

  it('stays quiet with 3 failures, however few the calls', async () => {
    const window = calls('music_queue_add', AT - 5 * MIN, AT, MIN, (i) => i < 3);
    expect(await run([...background('music_queue_add'), ...window], ['error_rate'])).toEqual([]);
  });

  it('stays quiet when the baseline was already as noisy', async () => {
    const noisy = calls('web_search', AT - 2 * 86_400_000, AT - 10 * MIN, 5 * MIN, (i) => i % 3 === 0);
    const window = calls('web_search', AT - 10 * MIN, AT, 15_000, (i) => i % 5 < 2);
    expect(await run([...noisy, ...window], ['error_rate'])).toEqual([]);
  });

  it('dates a long incident from its real onset, beyond the window, and rates it more severe', async () => {
    const short = await run([...background('music_queue_add'), ...calls('music_queue_add', AT - 10 * MIN, AT, 15_000, (i) => i % 5 < 2)], ['error_rate']);
    const long = await run([...background('music_queue_add'), ...calls('music_queue_add', AT - 3 * 60 * MIN, AT, 15_000, (i) => i % 5 < 2)], ['error_rate']);
    expect(Date.parse(long[0]!.onset!)).toBeLessThanOrEqual(AT - 170 * MIN);
    expect(long[0]!.score).toBeGreaterThan(short[0]!.score);
  });
});

describe('repeated_error', () => {
  const shard = (ts: number, i: number): LineOptions => ({ ts: new Date(ts), kind: 'bot_error', event: `gateway_shard_error: shard=${i % 8} Connection reset by peer after ${100 + i}ms`, agent: 'bot', metadata: null });
  // Steady traffic, with the shard error once an hour: its usual share of the traffic.
  const baseline = (perMinute: number) => [
    ...calls('web_search', AT - 2 * 86_400_000, AT - 60 * MIN, MIN / perMinute, () => false),
    ...Array.from({ length: 47 }, (_, h) => shard(AT - 2 * 86_400_000 + h * 3_600_000 + 1000, h)),
  ];

  it('fires on a known error far above its traffic-scaled rate, grouping shard=3 with shard=7', async () => {
    const burst = Array.from({ length: 12 }, (_, i) => shard(AT - 8 * MIN + i * 20_000, i));
    const found = await run([...baseline(1), ...calls('web_search', AT - 60 * MIN, AT, MIN, () => false), ...burst], ['repeated_error']);
    expect(found).toHaveLength(1);
    expect(found[0]!.observed['count']).toBe(12);
    expect(found[0]!.subject['fingerprint']).toBe(fingerprint('gateway_shard_error: shard=3 Connection reset by peer after 104ms'));
  });

  it('stays quiet when the error rises with the traffic (the daily peak)', async () => {
    // Ten times the traffic, ten times the errors: the same share.
    const peak = calls('web_search', AT - 60 * MIN, AT, 6_000, () => false);
    const errors = Array.from({ length: 10 }, (_, i) => shard(AT - 60 * MIN + i * 6 * MIN, i));
    expect(await run([...baseline(1), ...peak, ...errors], ['repeated_error'])).toEqual([]);
  });

  it('stays quiet for an error that is always this frequent', async () => {
    const chronic = Array.from({ length: 2 * 24 * 6 }, (_, w) => Array.from({ length: 11 }, (_, i) => shard(AT - 10 * MIN - (w + 1) * 10 * MIN + i * 20_000, i))).flat();
    const now = Array.from({ length: 11 }, (_, i) => shard(AT - 8 * MIN + i * 20_000, i));
    expect(await run([...chronic, ...now], ['repeated_error'])).toEqual([]);
  });
});

describe('repeated_error among many chronic errors', () => {
  const NAMES = ['gateway_reset', 'session_lost', 'generation_failed', 'socket_closed', 'tts_timeout', 'stt_timeout', 'queue_stalled', 'cache_miss_error'];
  const err = (name: string, ts: number): LineOptions => ({ ts: new Date(ts), kind: 'bot_error', event: `${name}: background failure`, agent: 'bot' });
  // One call a minute for two days; each of 8 chronic errors about 3.3 times an hour.
  const chronic = (until: number) => [
    ...calls('web_search', AT - 2 * 86_400_000, AT, MIN, () => false),
    ...NAMES.flatMap((name, j) => Array.from({ length: Math.floor((until - (AT - 2 * 86_400_000)) / (18 * MIN)) }, (_, i) => err(name, AT - 2 * 86_400_000 + i * 18 * MIN + j * 2 * MIN + 17_000))),
  ];

  it('stays quiet when one of them clusters by chance (16 in an hour against about 3.6 expected)', async () => {
    const cluster = Array.from({ length: 16 }, (_, i) => err('gateway_reset', AT - 59 * MIN + i * 220_000));
    const lines = [...chronic(AT - 60 * MIN), ...NAMES.slice(1).flatMap((name, j) => Array.from({ length: 3 }, (_, i) => err(name, AT - 55 * MIN + i * 18 * MIN + j * 1000))), ...cluster];
    expect(await run(lines, ['repeated_error'])).toEqual([]);
  });

  it('fires when one of them runs at ten times its rate', async () => {
    const burst = Array.from({ length: 12 }, (_, i) => err('gateway_reset', AT - 9 * MIN + i * 45_000));
    const found = await run([...chronic(AT - 60 * MIN), ...burst], ['repeated_error']);
    expect(found.map((a) => a.subject['fingerprint'])).toEqual(['gateway_reset: background failure']);
  });
});

describe('new_error', () => {
  const tts = (ts: number, model = 'nova-9'): LineOptions => ({ ts: new Date(ts), kind: 'tts_error', event: `tts_error: voice model "${model}" not found`, agent: 'voice' });
  // About 15 an hour: one every 4 minutes, from 50 minutes ago.
  const trickle = Array.from({ length: 13 }, (_, i) => tts(AT - 50 * MIN + i * 4 * MIN));

  it('is reported from its third occurrence at a low rate, and kept firing while it recurs', async () => {
    const { index } = await indexOf([...background('music_queue_add'), ...trickle]);
    const at = (ms: number) => detectAnomalies(index, { at: new Date(ms), thresholds, rules: ['new_error'] });
    expect(await at(AT - 45 * MIN)).toEqual([]);
    const third = await at(AT - 42 * MIN + 1000);
    expect(third.map((a) => a.rule)).toEqual(['new_error']);
    expect(third[0]!.onset).toBe(new Date(AT - 50 * MIN).toISOString());
    // 50 minutes on, the first occurrence is far outside the window: still the same new error.
    const later = await at(AT);
    expect(later.map((a) => a.id)).toEqual(third.map((a) => a.id));
    expect(later[0]!.observed['count']).toBe(13);
    expect(later[0]!.summary).toMatch(/A new error/);
  });

  it('stays quiet for an error first seen two days ago', async () => {
    expect(await run([tts(AT - 2 * 86_400_000, 'nova-2'), ...trickle], ['new_error'])).toEqual([]);
  });

  it('reports a tool failing for the first time, whatever its messages, as one incident', async () => {
    const failures = ['timeout', 'socket closed', 'bad gateway'].map((m, i): LineOptions => ({ ts: new Date(AT - 5 * MIN + i * MIN), kind: 'voice_error', event: 'realtime_tool_call_failed', metadata: { toolName: 'music_play', error: `${m}` } }));
    const found = await run([...background('music_queue_add'), ...calls('music_play', AT - 86_400_000 * 2, AT - 10 * MIN, 10 * MIN, () => false), ...failures], ['new_error']);
    expect(found).toHaveLength(1);
    expect(found[0]!.subject).toEqual({ kind: 'voice_error', tool_name: 'music_play' });
  });
});

describe('latency_regression', () => {
  const withLatency = (factor: number, from = AT - 10 * MIN) => [
    ...calls('web_search', AT - 2 * 86_400_000, from, 20 * MIN, () => false, (i) => ({ metadata: { toolName: 'web_search', runtimeMs: 400 + (i % 20) * 10 } })),
    ...calls('web_search', from, AT, 20_000, () => false, (i) => ({ metadata: { toolName: 'web_search', runtimeMs: Math.round((400 + (i % 20) * 10) * factor) } })),
  ];

  it('fires when p95 is 2.5× the baseline', async () => {
    const found = await run(withLatency(2.5), ['latency_regression']);
    expect(found).toHaveLength(1);
    expect(found[0]!.subject).toEqual({ operation: 'web_search', tool_name: 'web_search' });
  });

  it('stays quiet at 1.9×', async () => {
    expect(await run(withLatency(1.9), ['latency_regression'])).toEqual([]);
  });

  it('reports a sustained 1.5× drift that never reaches the factor, dated from its start', async () => {
    const found = await run(withLatency(1.5, AT - 60 * MIN), ['latency_regression']);
    expect(found).toHaveLength(1);
    expect(found[0]!.observed['drift']).toBe(1);
    expect(found[0]!.summary).toMatch(/web_search slowing: \d+% of calls above/);
    expect(Math.abs(Date.parse(found[0]!.onset!) - (AT - 60 * MIN))).toBeLessThanOrEqual(5 * MIN);
  });

  it('sees a slow ramp (1× to 1.6× over an hour) before it doubles, with its onset near where it began', async () => {
    const start = AT - 60 * MIN;
    const ramp = calls('web_search', start, AT, 30_000, () => false, (i) => ({ metadata: { toolName: 'web_search', runtimeMs: Math.round((400 + (i % 20) * 10) * (1 + (0.6 * i * 30_000) / (60 * MIN))) } }));
    const found = await run([...withLatency(1, start).filter((l) => new Date(l.ts).getTime() < start), ...ramp], ['latency_regression']);
    expect(found).toHaveLength(1);
    expect(found[0]!.observed['drift']).toBe(1);
    expect(Math.abs(Date.parse(found[0]!.onset!) - start)).toBeLessThanOrEqual(20 * MIN);
  });

  it('stays quiet for a 1.5× shift of the last 10 minutes only (not sustained, below the factor)', async () => {
    expect(await run(withLatency(1.5), ['latency_regression'])).toEqual([]);
  });

  it('reads no percentile from too few samples', async () => {
    const few = [...withLatency(1, AT - 60 * MIN).filter((l) => new Date(l.ts).getTime() < AT - 60 * MIN), ...calls('web_search', AT - 5 * MIN, AT, MIN, () => false, () => ({ metadata: { toolName: 'web_search', runtimeMs: 5000 } }))];
    expect(await run(few, ['latency_regression'])).toEqual([]);
  });

  it('dates a 4-hour slowdown from its start and rates it high', async () => {
    const found = await run(withLatency(2.5, AT - 4 * 60 * MIN), ['latency_regression']);
    expect(Math.abs(Date.parse(found[0]!.onset!) - (AT - 4 * 60 * MIN))).toBeLessThanOrEqual(5 * MIN);
    expect(['high', 'critical']).toContain(found[0]!.severity);
  });
});

describe('cost_spike', () => {
  const DAY = 86_400_000;
  // Three days of spend: $0.02 every 10 minutes, and every evening peak (the last hour of each day before AT) $0.02 a minute.
  const llm = (from: number, to: number, step: number, cost: number) =>
    calls('x', from, to, step, () => false, () => ({ kind: 'llm_call', event: 'claude:sonnet', agent: 'automation', usd_cost: cost, metadata: { durationMs: 900 } }));
  const usual = [0, 1, 2, 3].flatMap((d) => [...llm(AT - (d + 1) * DAY, AT - d * DAY - 60 * MIN, 10 * MIN, 0.02), ...(d > 0 ? llm(AT - d * DAY - 60 * MIN, AT - d * DAY, MIN, 0.02) : [])]);

  it('fires at 3× the spend usual at this time of day, above the floor', async () => {
    const spike = llm(AT - 60 * MIN, AT, 10_000, 0.02);
    const found = await run([...usual, ...spike], ['cost_spike']);
    expect(found).toHaveLength(1);
    expect(found[0]!.subject).toEqual({ agent: 'automation' });
    expect(found[0]!.observed['usd_per_hour']).toBeGreaterThan(6.5);
    expect(found[0]!.observed['usd_per_hour']).toBeLessThan(7.5);
  });

  it('stays quiet at the daily peak when the peak is usual', async () => {
    expect(await run([...usual, ...llm(AT - 60 * MIN, AT, MIN, 0.022)], ['cost_spike'])).toEqual([]);
  });

  it('stays quiet under the floor', async () => {
    expect(await run([...llm(AT - 3 * DAY, AT - 10 * MIN, 10 * MIN, 0.0001), ...llm(AT - 10 * MIN, AT, 30_000, 0.001)], ['cost_spike'])).toEqual([]);
  });
});

describe('the cache kept between evaluations', () => {
  it('finds what a fresh evaluation finds, evaluation after evaluation', async () => {
    const lines = [
      ...background('music_queue_add'),
      ...calls('music_queue_add', AT - 90 * MIN, AT + 60 * MIN, 15_000, (i, t) => t >= AT - 20 * MIN && i % 5 < 2),
      ...Array.from({ length: 6 }, (_, i): LineOptions => ({ ts: new Date(AT - 30 * MIN + i * 7 * MIN), kind: 'tts_error', event: 'tts_error: voice model "nova-9" not found', agent: 'voice' })),
    ];
    const { index } = await indexOf(lines);
    const cache = new DetectCache();
    for (const offset of [-40, -15, 0, 1, 25, 61]) {
      const at = new Date(AT + offset * MIN);
      const strip = (found: Awaited<ReturnType<typeof detectAnomalies>>) => found.map((a) => ({ id: a.id, signals: a.signals.map((s) => [s.rule, s.onset, s.observed]) }));
      const cached = strip(await detectAnomalies(index, { at, thresholds, cache }));
      expect(cached).toEqual(strip(await detectAnomalies(index, { at, thresholds })));
      if (offset === 0) expect(cached.length).toBeGreaterThan(0);
    }
  });
});

describe('an evaluation without a cache', () => {
  it('reads the same baselines, every rule firing, as the hourly aggregates the cache keeps', async () => {
    const DAY = 86_400_000;
    const from = AT - 3 * DAY;
    const shard = (ts: number, i: number): LineOptions => ({ ts: new Date(ts), kind: 'bot_error', event: `gateway_shard_error: shard=${i % 8} Connection reset by peer`, agent: 'bot' });
    const lines = [
      // Failures all along, across the baseline's first hours, then a burst.
      ...calls('music_queue_add', from, AT + 30 * MIN, 4 * MIN, (i, t) => (t >= AT - 20 * MIN ? i % 5 < 2 : i % 37 === 7)),
      ...calls('music_queue_add', AT - 20 * MIN, AT + 30 * MIN, 20_000, (i) => i % 5 < 2),
      // Latency: its baseline spread over three days, then 2.5× for 40 minutes.
      ...calls('web_search', from, AT + 30 * MIN, 6 * MIN, () => false, (i) => ({ metadata: { toolName: 'web_search', runtimeMs: 400 + ((i * 7) % 23) * 10 } })),
      ...calls('web_search', AT - 40 * MIN, AT + 30 * MIN, 20_000, () => false, (i) => ({ metadata: { toolName: 'web_search', runtimeMs: Math.round((400 + ((i * 7) % 23) * 10) * 2.5) } })),
      // Spend every 10 minutes, then ten times as much for the last hour.
      ...calls('x', from, AT + 30 * MIN, 10 * MIN, () => false, () => ({ kind: 'llm_call', event: 'claude:sonnet', agent: 'automation', usd_cost: 0.05 })),
      ...calls('x', AT - 60 * MIN, AT + 30 * MIN, MIN, () => false, () => ({ kind: 'llm_call', event: 'claude:sonnet', agent: 'automation', usd_cost: 0.05 })),
      // A chronic error once an hour, then a burst; and an error never seen before.
      ...Array.from({ length: 70 }, (_, h) => shard(from + h * 3_600_000 + 1000, h)),
      ...Array.from({ length: 14 }, (_, i) => shard(AT - 8 * MIN + i * 40_000, i)),
      ...Array.from({ length: 10 }, (_, i): LineOptions => ({ ts: new Date(AT - 40 * MIN + i * 4 * MIN), kind: 'tts_error', event: 'tts_error: voice model "nova-9" not found', agent: 'voice' })),
    ];
    const { index } = await indexOf(lines);
    const cache = new DetectCache();
    const sorted = (signals: Awaited<ReturnType<typeof detectSignals>>) => [...signals].sort((a, b) => a.id.localeCompare(b.id));
    // Around hour boundaries: where the baseline's first hours are cut changes with them.
    for (const offset of [-37, -1, 0, 13, 29]) {
      const options = { at: new Date(AT + offset * MIN), thresholds, baseline: '2d' };
      const fresh = sorted(await detectSignals(index, options));
      expect(fresh).toEqual(sorted(await detectSignals(index, { ...options, cache })));
      if (offset === 0) expect(new Set(fresh.map((s) => s.rule))).toEqual(new Set(['error_rate', 'repeated_error', 'latency_regression', 'new_error', 'cost_spike']));
    }
  });
});

describe('the latency baseline of a busy operation', () => {
  it('reads its quantiles from a sample that stands for the whole baseline, and still judges by them', async () => {
    // 82,000 calls over two days (72,000 in the baseline: more than SAMPLE_EVERY × SAMPLE_MIN), latencies 300-1299 ms, then 2.5× for 10 minutes.
    const ms = (i: number) => 300 + ((i * 7919) % 1000);
    const lines = [
      ...calls('web_search', AT - 2 * 86_400_000, AT - 10 * MIN, 2_100, () => false, (i) => ({ metadata: { toolName: 'web_search', runtimeMs: ms(i) } })),
      ...calls('web_search', AT - 10 * MIN, AT, 20_000, () => false, (i) => ({ metadata: { toolName: 'web_search', runtimeMs: Math.round(ms(i) * 2.5) } })),
    ];
    const { index } = await indexOf(lines);
    const options = { at: new Date(AT), thresholds, baseline: '2d' };
    const times = resolveTimes(options);
    const ctx = { logs: index, at: options.at, ...times, thresholds, memo: new Map(), matches: () => true };
    const frame = frameOf(ctx);
    const [row] = (await operationBaseline(ctx)).filter((r) => r['operation'] === 'tool:web_search');
    expect(Number(row!['ns'])).toBeGreaterThanOrEqual(SAMPLE_MIN);
    const [p50, p95, p99] = Array.from(row!['q'] as ArrayLike<unknown>, Number);
    const [share] = await index.all<{ n: number; a50: number; a95: number; a99: number }>(
      'SELECT count(*) AS n, count(*) FILTER (WHERE latency_ms > ?) AS a50, count(*) FILTER (WHERE latency_ms > ?) AS a95, count(*) FILTER (WHERE latency_ms > ?) AS a99 FROM logs WHERE ts >= ?::TIMESTAMP AND ts < ?::TIMESTAMP AND latency_ms IS NOT NULL AND operation = ?',
      [p50, p95, p99, new Date(frame.from), new Date(frame.recentStart), 'tool:web_search'],
    );
    // The share of the whole baseline above each sample quantile: within two standard errors of a sample of SAMPLE_MIN.
    expect(Number(share!.n)).toBe(Number(row!['nl']));
    expect(Number(share!.a50) / Number(share!.n)).toBeGreaterThan(0.5 - 0.011);
    expect(Number(share!.a50) / Number(share!.n)).toBeLessThan(0.5 + 0.011);
    expect(Number(share!.a95) / Number(share!.n)).toBeGreaterThan(0.05 - 0.0048);
    expect(Number(share!.a95) / Number(share!.n)).toBeLessThan(0.05 + 0.0048);
    expect(Number(share!.a99) / Number(share!.n)).toBeGreaterThan(0.01 - 0.0022);
    expect(Number(share!.a99) / Number(share!.n)).toBeLessThan(0.01 + 0.0022);
    const found = await detectSignals(index, { ...options, rules: ['latency_regression'] });
    expect(found.map((s) => [s.rule, s.expected['p95_ms'], s.expected['baseline_samples']])).toEqual([['latency_regression', Math.round(p95!), Number(row!['nl'])]]);
  }, 120_000);
});

describe('the minutes kept between evaluations', () => {
  it('reads the minutes again when lines arrive late with times already settled', async () => {
    const quiet = [...background('music_queue_add'), ...calls('music_queue_add', AT - 90 * MIN, AT + 10 * MIN, 15_000, () => false)];
    const { index, state } = await indexOf(quiet);
    const cache = new DetectCache();
    for (const offset of [-2, -1, 0]) expect(await detectAnomalies(index, { at: new Date(AT + offset * MIN), thresholds, cache, rules: ['error_rate'] })).toEqual([]);
    // A burst logged late: its lines reach the index after the minutes they belong to were kept.
    const late = calls('music_queue_add', AT - 9 * MIN, AT - 4 * MIN, 10_000, (i) => i % 3 < 2);
    await fs.appendFile(path.join(path.dirname(state), 'data', 'logs', 'a.ndjson'), `${late.map(logLine).join('\n')}\n`);
    await index.refresh();
    const at = new Date(AT + 30_000);
    const cached = await detectAnomalies(index, { at, thresholds, cache, rules: ['error_rate'] });
    expect(cached.map((a) => a.observed)).toEqual((await detectAnomalies(index, { at, thresholds, rules: ['error_rate'] })).map((a) => a.observed));
    expect(cached.map((a) => a.subject['operation'])).toEqual(['music_queue_add']);
  });
});

describe('ids, state and verify_fix', () => {
  it('keeps the same id for the same problem, and opens then resolves it', async () => {
    const lines = [...background('music_queue_add'), ...calls('music_queue_add', AT - 10 * MIN, AT, 15_000, (i) => i % 5 < 2)];
    const { index, state } = await indexOf(lines);
    const first = await detectAnomalies(index, { at: new Date(AT), thresholds, rules: ['error_rate'] });
    const second = await detectAnomalies(index, { at: new Date(AT + MIN), thresholds, rules: ['error_rate'] });
    expect(second[0]!.id).toBe(first[0]!.id);
    const opened = await updateAnomalyState(state, first, new Date(AT), 30 * MIN);
    expect(opened.opened.map((a) => a.id)).toEqual([first[0]!.id]);
    expect((await updateAnomalyState(state, second, new Date(AT + MIN), 30 * MIN)).opened).toEqual([]);
    const quiet = await updateAnomalyState(state, [], new Date(AT + 40 * MIN), 30 * MIN);
    expect(quiet.resolved.map((r) => r.id)).toEqual([first[0]!.id]);
    expect(await listAnomalies(state, 'open')).toEqual([]);
    const [resolved] = await listAnomalies(state, 'resolved');
    expect(resolved!.history.map((h) => h.change)).toEqual(['opened', 'resolved']);
  });

  it('keeps anomalies of a past evaluation by id without opening them, and opens them when they fire live', async () => {
    const lines = [...background('music_queue_add'), ...calls('music_queue_add', AT - 10 * MIN, AT, 15_000, (i) => i % 5 < 2)];
    const { index, state } = await indexOf(lines);
    const past = await detectAnomalies(index, { at: new Date(AT), thresholds, rules: ['error_rate'] });
    await recordPastAnomalies(state, past, new Date(AT));
    expect((await getAnomaly(state, past[0]!.id))?.status).toBe('past');
    expect(await listAnomalies(state, 'open')).toEqual([]);
    // Recording the past again never overwrites what is known.
    await updateAnomalyState(state, past, new Date(AT + MIN), 30 * MIN);
    await recordPastAnomalies(state, past, new Date(AT - 60 * MIN));
    const rec = await getAnomaly(state, past[0]!.id);
    expect(rec?.status).toBe('open');
    expect(rec?.history.map((h) => h.change)).toEqual(['opened']);
  });

  it('tells fixed from not fixed', async () => {
    const marker = AT + 30 * MIN;
    const before = [...background('music_queue_add'), ...calls('music_queue_add', marker - 30 * MIN, marker, 15_000, (i) => i % 5 < 2)];
    const fixedAfter = calls('music_queue_add', marker, marker + 60 * MIN, 15_000, (i) => i % 100 === 0);
    const brokenAfter = calls('music_queue_add', marker, marker + 60 * MIN, 15_000, (i) => i % 5 < 2);
    const { index: fixedIndex } = await indexOf([...before, ...fixedAfter]);
    const anomaly = (await detectAnomalies(fixedIndex, { at: new Date(marker), thresholds, rules: ['error_rate'] }))[0]!;
    const fixed = await verifyFix(fixedIndex, anomaly, new Date(marker), { window: '30m', now: new Date(marker + 60 * MIN) });
    expect(fixed.verdict).toBe('fixed');
    expect(fixed.before.metric).toBeCloseTo(0.4, 1);
    const { index: brokenIndex } = await indexOf([...before, ...brokenAfter]);
    const notFixed = await verifyFix(brokenIndex, anomaly, new Date(marker), { window: '30m', now: new Date(marker + 60 * MIN) });
    expect(notFixed.verdict).toBe('not_fixed');
    const early = await verifyFix(brokenIndex, anomaly, new Date(marker), { window: '30m', now: new Date(marker + 30_000) });
    expect(early.verdict).toBe('insufficient_data');
  });
});

describe('fingerprints', () => {
  it('group what differs only in numbers, ids, hex, uuids, quoted values, paths and durations', () => {
    const same = [
      ['gateway_shard_error: shard=3 Connection reset by peer', 'gateway_shard_error: shard=7 Connection reset by peer'],
      ['user 1180000000000000003 not found', 'user 1180000000000000099 not found'],
      ['request 3f2a9c1d0e4b failed', 'request 9a8b7c6d5e4f failed'],
      ['job 123e4567-e89b-12d3-a456-426614174000 died', 'job 00000000-0000-4000-8000-000000000000 died'],
      ['cannot read "foo"', 'cannot read "bar"'],
      ['ENOENT /var/data/a.json', 'ENOENT /tmp/b/c.json'],
      ['tts_error: provider timeout after 8000ms', 'tts_error: provider timeout after 950ms'],
    ];
    for (const [a, b] of same) expect(fingerprint(a)).toBe(fingerprint(b));
  });

  it('separate different messages', () => {
    expect(fingerprint('queue state undefined')).not.toBe(fingerprint('queue is full'));
    expect(fingerprint('gateway_shard_error: Connection reset')).not.toBe(fingerprint('gateway_shard_error: Connection refused'));
  });
});
