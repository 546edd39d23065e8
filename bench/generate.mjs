// Seeded generator of runtime action logs in the bot's format (see the README): N lines
// over D days, realistic kinds and sizes, a few percent of lines carrying 5-20 KB prompt
// bundles. Usable as a module (writeLog) and from the command line:
//   node bench/generate.mjs OUT.ndjson [--events N] [--days D] [--seed S] [--end ISO]
import fs from 'node:fs';

export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOOLS = ['music_queue_add', 'music_skip', 'play_soundboard', 'web_search', 'set_reminder', 'memory_lookup'];
const MODELS = ['claude-oauth:claude-sonnet-4-6', 'openai:gpt-5-mini', 'claude-oauth:claude-haiku-4-5'];
const ERRORS = [
  'gateway_shard_error: shard=3 Connection reset by peer',
  'realtime_tool_output_send_failed: socket closed',
  'tts_error: provider timeout after 8000ms',
  'search_error: 429 Too Many Requests',
];
const WORDS = 'the quick brown fox jumps over a lazy dog while the bot plays some music for everyone in the voice channel tonight'.split(' ');

function snowflake(r) {
  return String(1180000000000000000n + BigInt(Math.floor(r() * 1e15)));
}

function sentence(r, words) {
  let out = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(r() * WORDS.length)]);
  return out.join(' ');
}

/** One line at time `ts` (ms). `r` is the seeded random source. */
export function makeLine(r, ts, n) {
  const base = {
    ts: new Date(ts).toISOString(),
    source: 'store_action',
    guild_id: '1180000000000000001',
    channel_id: `11800000000000000${String(2 + Math.floor(r() * 8)).padStart(2, '0')}`,
    message_id: null,
    user_id: `11800000000000001${String(Math.floor(r() * 90) + 10)}`,
    usd_cost: 0,
  };
  const p = r();
  if (p < 0.3) {
    const ok = r() > 0.03;
    const tool = TOOLS[Math.floor(r() * TOOLS.length)];
    return {
      ...base,
      level: ok ? 'info' : 'error',
      kind: ok ? 'voice_runtime' : 'voice_error',
      event: ok ? 'realtime_tool_call_completed' : 'realtime_tool_call_failed',
      agent: 'voice',
      content: ok ? 'realtime_tool_call_completed' : 'realtime_tool_call_failed',
      metadata: { sessionId: `vs-${Math.floor(n / 20)}`, callId: `call_${n}`, toolName: tool, toolType: 'function', runtimeMs: Math.round(100 + r() * 600), outputSummary: ok ? 'done' : null, error: ok ? null : 'upstream timeout' },
    };
  }
  if (p < 0.55) {
    const bundle = r() < 0.12;
    const model = MODELS[Math.floor(r() * MODELS.length)];
    return {
      ...base,
      level: 'info',
      kind: 'llm_call',
      event: model,
      agent: 'runtime',
      message_id: snowflake(r),
      usd_cost: Math.round(r() * 80) / 10000,
      content: model,
      metadata: {
        provider: model.split(':')[0],
        model: model.split(':')[1],
        usage: { inputTokens: Math.round(1500 + r() * 2000), outputTokens: Math.round(50 + r() * 300) },
        durationMs: Math.round(800 + r() * 2400),
        stopReason: r() < 0.2 ? 'tool_use' : 'end_turn',
        ...(bundle ? { replyPrompts: { systemPrompt: sentence(r, 400 + Math.floor(r() * 1200)), initialUserPrompt: sentence(r, 200), followupUserPrompts: [sentence(r, 100)] } } : {}),
      },
    };
  }
  if (p < 0.8) {
    return { ...base, level: 'info', kind: 'sent_reply', event: 'reply_sent', agent: 'bot', message_id: snowflake(r), content: sentence(r, 5 + Math.floor(r() * 30)), metadata: { triggerMessageId: snowflake(r), durationMs: Math.round(50 + r() * 200) } };
  }
  if (p < 0.9) {
    return { ...base, level: 'info', kind: 'voice_runtime', event: 'voice_turn_addressing', agent: 'voice', content: sentence(r, 8), metadata: { sessionId: `vs-${Math.floor(n / 20)}`, turnId: `turn-${n}`, performance: { totalMs: Math.round(200 + r() * 500), queueMs: 12, ingestMs: 30 } } };
  }
  if (p < 0.97) {
    return { ...base, level: 'info', kind: 'search_call', event: 'search_completed', agent: 'runtime', usd_cost: 0.001, content: sentence(r, 6), metadata: { provider: 'brave', latencyMs: Math.round(300 + r() * 900), error: null } };
  }
  const msg = ERRORS[Math.floor(r() * ERRORS.length)];
  return { ...base, level: 'error', kind: 'bot_error', event: msg, agent: 'bot', content: msg, metadata: null };
}

/** Writes `events` lines spread evenly over `days` days ending at `end`; returns bytes written. */
export function writeLog(file, { events = 100_000, days = 7, seed = 1, end = Date.now() } = {}) {
  const r = rng(seed);
  const start = end - days * 86_400_000;
  const step = (end - start) / events;
  const fd = fs.openSync(file, 'w');
  let bytes = 0;
  let batch = [];
  for (let i = 0; i < events; i++) {
    batch.push(JSON.stringify(makeLine(r, Math.round(start + i * step), i)));
    if (batch.length === 5000 || i === events - 1) {
      const text = batch.join('\n') + '\n';
      fs.writeSync(fd, text);
      bytes += Buffer.byteLength(text);
      batch = [];
    }
  }
  fs.closeSync(fd);
  return bytes;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: node bench/generate.mjs OUT.ndjson [--events N] [--days D] [--seed S]');
    process.exit(2);
  }
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const bytes = writeLog(out, { events: arg('events', 100_000), days: arg('days', 7), seed: arg('seed', 1) });
  console.log(`wrote ${out}: ${bytes} bytes`);
}
