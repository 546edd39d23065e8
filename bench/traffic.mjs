// Simulated traffic of the bot, in the shape its own logger writes (see
// test/fixtures/clanky-runtime-actions.ndjson): daily and weekly cycles, tool calls whose
// failures are logged twice (realtime_tool_call_failed, then voice_tool_<tool>_failed:
// <message>), ids in messages, chronic background errors, rare one-off errors, LLM calls
// with cost and duration — and injected incidents with their ground truth.
//   import { simulate } from './traffic.mjs'
import fs from 'node:fs';
import { rng } from './generate.mjs';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const TOOLS = ['music_queue_add', 'music_play', 'web_search', 'set_reminder', 'memory_lookup', 'play_soundboard'];
const TOOL_ERRORS = {
  music_queue_add: ['queue is full'],
  music_play: ['Video unavailable', 'Video {vid} is unavailable'],
  web_search: ['Request failed with status code 429'],
  set_reminder: ['reminder time is in the past'],
  memory_lookup: ['memory store timeout after {n}ms'],
  play_soundboard: ['sound not found'],
};
const hex = (r, n) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
const vid = (r) => Array.from({ length: 11 }, () => 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0123456789_-'[Math.floor(r() * 60)]).join('');
const fill = (r, s) => s.replace('{vid}', vid(r)).replace('{n}', String(1000 + Math.floor(r() * 9000))).replace('{hex}', hex(r, 24)).replace('{vs}', `vs_${Math.floor(r() * 900000 + 100000)}_${hex(r, 4)}`);

/** Events per minute: a daily cycle (peak in the evening UTC) and busier weekends. */
export function rate(t, perDay) {
  const hour = (t % DAY) / HOUR;
  const daily = 0.25 + 0.75 * Math.max(0, Math.cos(((hour - 20) / 24) * 2 * Math.PI)) ** 1.5;
  const dow = new Date(t).getUTCDay();
  const weekly = dow === 0 || dow === 6 ? 1.3 : 1;
  return (perDay / 1440) * daily * weekly * 1.9;
}

function poisson(r, lambda) {
  let k = 0;
  let p = Math.exp(-lambda);
  let s = p;
  const u = r();
  while (u > s && k < 1000) {
    k++;
    p *= lambda / k;
    s += p;
  }
  return k;
}

const base = (ts, instance = 'default') => ({ ts: new Date(ts).toISOString(), instance, source: 'store_action', guild_id: '1180000000000000001', channel_id: '1180000000000000002', message_id: null, user_id: '1180000000000000003', usd_cost: 0 });

function toolLines(r, ts, tool, { fail = null, ms = null, session = null } = {}) {
  const sessionId = session ?? `vs-${Math.floor(ts / (20 * MIN))}`;
  const callId = `call_${hex(r, 12)}`;
  const runtimeMs = ms ?? Math.round((tool.startsWith('music') ? 250 : 150) + r() * 500);
  if (fail === null) {
    return [{ ...base(ts), level: 'info', kind: 'voice_runtime', event: 'realtime_tool_call_completed', agent: 'voice', content: 'realtime_tool_call_completed', metadata: { sessionId, callId, toolName: tool, toolType: 'function', runtimeMs, outputSummary: 'done', error: null } }];
  }
  return [
    { ...base(ts), level: 'error', kind: 'voice_error', event: 'realtime_tool_call_failed', agent: 'voice', content: 'realtime_tool_call_failed', metadata: { sessionId, callId, toolName: tool, toolType: 'function', runtimeMs: 40, outputSummary: null, error: fail } },
    { ...base(ts + 400), level: 'error', kind: 'voice_error', event: `voice_tool_${tool}_failed: ${fail}`.slice(0, 180), agent: 'voice', content: `voice_tool_${tool}_failed: ${fail}`, metadata: { sessionId } },
  ];
}

function llmLine(r, ts, { model = 'claude-sonnet-4-6', cost = null, slow = 1 } = {}) {
  return { ...base(ts), level: 'info', kind: 'llm_call', event: `claude-oauth:${model}`, agent: 'runtime', usd_cost: cost ?? Math.round((0.002 + r() * 0.01) * 10000) / 10000, content: `claude-oauth:${model}`, metadata: { provider: 'claude-oauth', model, usage: { inputTokens: Math.round(1500 + r() * 2000), outputTokens: Math.round(50 + r() * 300) }, durationMs: Math.round((900 + r() * 1800) * slow), stopReason: 'end_turn', messageId: `1180000000${Math.floor(r() * 1e9)}` } };
}

/** One minute of normal traffic. `mods` alter it during incidents. */
function minute(r, t, perDay, mods) {
  const lines = [];
  const n = poisson(r, rate(t, perDay) * (mods.traffic ?? 1));
  for (let i = 0; i < n; i++) {
    const ts = t + Math.floor(r() * MIN);
    const p = r();
    if (p < 0.3) {
      const tool = TOOLS[Math.floor(r() * TOOLS.length)];
      const failP = mods.toolFail?.[tool] ?? 0.02;
      if (r() < failP) {
        const msgs = mods.toolMessages?.[tool] ?? TOOL_ERRORS[tool];
        lines.push(...toolLines(r, ts, tool, { fail: fill(r, msgs[Math.floor(r() * msgs.length)]), ...(mods.session ? { session: mods.session(ts) } : {}) }));
        if (mods.alsoOnFailure?.[tool]) lines.push(mods.alsoOnFailure[tool](ts + 700, mods.session ? mods.session(ts) : null));
      } else lines.push(...toolLines(r, ts, tool, { ms: mods.toolSlow?.[tool] ? Math.round((150 + r() * 500) * mods.toolSlow[tool](t)) : null }));
    } else if (p < 0.55) {
      lines.push(llmLine(r, ts, { slow: mods.llmSlow ?? 1 }));
    } else if (p < 0.78) {
      lines.push({ ...base(ts), level: 'info', kind: 'sent_reply', event: 'ok ok, playing it now', agent: 'runtime', message_id: `1180000000${Math.floor(r() * 1e9)}`, content: 'ok ok, playing it now', metadata: { triggerMessageId: `1180000000${Math.floor(r() * 1e9)}`, performance: { totalMs: Math.round(1500 + r() * 2500) } } });
    } else if (p < 0.9) {
      lines.push({ ...base(ts), level: 'info', kind: 'voice_runtime', event: 'voice_turn_finalized', agent: 'voice', content: 'voice_turn_finalized', metadata: { sessionId: `vs-${Math.floor(ts / (20 * MIN))}`, turnId: `turn-${hex(r, 6)}`, performance: { totalMs: Math.round(200 + r() * 500) } } });
    } else if (p < 0.985) {
      const q = ['weather in lyon tomorrow', 'how tall is the eiffel tower', 'never gonna give you up lyrics'][Math.floor(r() * 3)];
      if (r() < 0.01) lines.push({ ...base(ts), level: 'error', kind: 'search_error', event: 'Request failed with status code 429', agent: 'runtime', content: 'Request failed with status code 429', metadata: { provider: 'brave' } });
      else lines.push({ ...base(ts), level: 'info', kind: 'search_call', event: q, agent: 'runtime', usd_cost: 0.001, content: q, metadata: { provider: 'brave', latencyMs: Math.round(300 + r() * 900) } });
    } else {
      // Chronic errors: gateway resets (with ids), sessions not found, generation failures.
      const which = r();
      const msg = which < 0.5 ? `gateway_shard_error: shard=${Math.floor(r() * 4)} Connection reset by peer` : which < 0.8 ? fill(r, 'realtime_turn_failed: Session {vs} not found') : fill(r, 'realtime_generation_failed: Request req_{hex} failed with status 500');
      lines.push({ ...base(ts), level: 'error', kind: msg.startsWith('gateway') ? 'bot_error' : 'voice_error', event: msg.slice(0, 180), agent: msg.startsWith('gateway') ? 'bot' : 'voice', content: msg, metadata: null });
    }
  }
  if (mods.extra) lines.push(...mods.extra(r, t));
  return lines;
}

/**
 * The incidents: what each is, when it starts (ms), how long, the modifications of traffic,
 * and `matches(signal)`: whether a finding is about it.
 */
export function incidents(start, days, r) {
  const list = [];
  const slot = (day, hour) => start + day * DAY + hour * HOUR + Math.floor(r() * 30) * MIN;
  const bySubject = (pred) => (s) => Object.values(s.subject).some((v) => typeof v === 'string' && pred(v));
  const make = (name, day, hour, durationMin, mods, matches) => list.push({ name, start: slot(day, hour), durationMs: durationMin * MIN, mods, matches });
  const specs = [
    ['burst 15m 40% music_queue_add (peak)', 19, 15, { toolFail: { music_queue_add: 0.4 } }, bySubject((v) => v === 'music_queue_add')],
    ['burst 15m 40% memory_lookup (off-peak)', 7, 15, { toolFail: { memory_lookup: 0.4 } }, bySubject((v) => v === 'memory_lookup')],
    ['new error ~15/h set_reminder', 14, 120, { extra: (r, t) => (r() < 0.25 ? toolLines(r, t + Math.floor(r() * MIN), 'set_reminder', { fail: fill(r, 'ECONNREFUSED 10.0.0.7:6379 (request req_{hex})') }) : []) }, bySubject((v) => v === 'set_reminder' || v.includes('econnrefused'))],
    ['music outage (4 messages, stream errors)', 20, 30, {
      toolFail: { music_play: 0.7 },
      toolMessages: { music_play: ['ytdl 410 Gone for {vid}', 'stream ended early', 'no audio format for {vid}', 'player not connected'] },
      session: (ts) => `vs-out-${Math.floor(ts / (2 * MIN))}`,
      alsoOnFailure: { music_play: (ts, session) => ({ ...base(ts), level: 'error', kind: 'voice_error', event: 'audio_pipeline_error: ffmpeg exited with code 1', agent: 'voice', content: 'audio_pipeline_error: ffmpeg exited with code 1', metadata: { sessionId: session } }) },
    }, bySubject((v) => v === 'music_play' || v.includes('audio_pipeline') || v.includes('ytdl') || v.includes('stream ended') || v.includes('player not connected') || v.includes('no audio format'))],
    ['LLM 2.5x slower for 4h', 13, 240, { llmSlow: 2.5 }, bySubject((v) => v.includes('llm') || v.includes('claude'))],
    ['web_search slow regression 1x->3x over 3h', 10, 180, { toolSlow: { web_search: null } }, bySubject((v) => v === 'web_search')],
    ['cost spike at peak (opus loop 1h)', 20, 60, { extra: (r, t) => Array.from({ length: 6 }, () => llmLine(r, t + Math.floor(r() * MIN), { model: 'claude-opus-4-1', cost: 0.04 + r() * 0.03 })) }, bySubject((v) => v === 'runtime')],
    ['cost spike off-peak (opus loop 1h)', 4, 60, { extra: (r, t) => Array.from({ length: 3 }, () => llmLine(r, t + Math.floor(r() * MIN), { model: 'claude-opus-4-1', cost: 0.04 + r() * 0.03 })) }, bySubject((v) => v === 'runtime')],
    ['gateway resets 10x for 30m', 16, 30, { extra: (r, t) => Array.from({ length: poisson(r, 1.5) }, () => ({ ...base(t + Math.floor(r() * MIN)), level: 'error', kind: 'bot_error', event: `gateway_shard_error: shard=${Math.floor(r() * 4)} Connection reset by peer`, agent: 'bot', content: 'gateway', metadata: null })) }, bySubject((v) => v.includes('gateway') || v === 'bot_error')],
  ];
  // Each kind of incident about every 3 days, at its hour, rotating; one at a time.
  let day = 0.5;
  let k = 0;
  while (day < days - 0.5) {
    const [name, hour, dur, mods, matches] = specs[k % specs.length];
    const m = name.startsWith('web_search slow') ? { toolSlow: { web_search: ((s) => (t) => 1 + Math.min(2, (2 * (t - s)) / (180 * MIN)))(slot(Math.floor(day), hour)) } } : mods;
    make(name, Math.floor(day), hour, dur, m, matches);
    day += 1.1 + r() * 0.6;
    k++;
  }
  // Fix the slow-regression ramps to their own start.
  for (const inc of list) if (inc.name.startsWith('web_search slow')) inc.mods = { toolSlow: { web_search: (t) => 1 + Math.min(2, (2 * (t - inc.start)) / (180 * MIN)) } };
  return list;
}

/** Writes `days` of traffic ending at `end` to `file`; incidents only after `warmupDays`. Returns the incidents. */
export function simulate(file, { perDay = 15_000, days = 28, warmupDays = 7, end, seed = 1, withIncidents = true, rareErrorsPerDay = 3 } = {}) {
  const r = rng(seed);
  const start = end - days * DAY;
  const list = withIncidents ? incidents(start + warmupDays * DAY, days - warmupDays, rng(seed + 1)) : [];
  // Rare one-off errors: new messages seen once or twice, never an incident.
  const rare = [];
  for (let d = 0; d < days; d++) {
    for (let i = 0; i < rareErrorsPerDay; i++) {
      const t = start + d * DAY + Math.floor(r() * DAY);
      const msg = `unexpected_${hex(r, 4).replace(/[0-9]/g, 'x')}_failure: ${['bad state', 'missing field', 'invalid token'][i % 3]} ${Math.floor(r() * 1000)}`;
      for (let k = 0; k < 1 + Math.floor(r() * 2); k++) rare.push({ ...base(t + k * 20 * MIN), level: 'error', kind: 'bot_error', event: msg, agent: 'bot', content: msg, metadata: null });
    }
  }
  rare.sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
  let ri = 0;
  const fd = fs.openSync(file, 'w');
  let batch = [];
  let count = 0;
  for (let t = start; t < end; t += MIN) {
    const active = list.filter((inc) => t >= inc.start && t < inc.start + inc.durationMs);
    const mods = Object.assign({}, ...active.map((inc) => inc.mods));
    const lines = minute(r, t, perDay, mods);
    while (ri < rare.length && Date.parse(rare[ri].ts) < t + MIN) lines.push(rare[ri++]);
    lines.sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
    for (const l of lines) batch.push(JSON.stringify(l));
    count += lines.length;
    if (batch.length >= 5000) {
      fs.writeSync(fd, `${batch.join('\n')}\n`);
      batch = [];
    }
  }
  if (batch.length) fs.writeSync(fd, `${batch.join('\n')}\n`);
  fs.closeSync(fd);
  return { incidents: list, events: count, start };
}
