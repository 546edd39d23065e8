import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { countTokens } from 'gpt-tokenizer/encoding/cl100k_base';
import { createBotFixture, LOG_END_OFFSET_MS, rng, type LogLine } from '../../src/cli/demo/bot-fixture.js';
import { PACKAGE_ROOT } from './mcp-client.js';

/**
 * A bot repository at its busiest, for measuring the size of every tool's result with
 * ordinary but large arguments: the demo bot (24 h of log, an incident) plus
 *  - a busy voice session: hundreds of events, 5-20 KB prompt bundles in metadata, model
 *    output in content, long error stacks;
 *  - one 50 KB content line;
 *  - many tools failing at once in the last minutes (many anomalies);
 *  - 220 recent commits touching several files each (git_log max, suspect_commits max);
 *  - a big uncommitted change (git_diff, git_status), with type errors (run_typecheck) and a
 *    test file with many failing tests (run_tests).
 */

export const BUSY_SESSION = 'vs_935027_busy';
export const BIG_CONTENT_CHARS = 50_000;
const MINUTE = 60_000;
const GUILD = '1180000000000000001';
const CHANNEL = '1180000000000000002';

/** The tokenizer results are counted with: cl100k_base (gpt-tokenizer), a stand-in for Claude's. */
export function tokens(text: string): number {
  return countTokens(text);
}


const WORDS = (
  'the a to and of you is in it that for on with this be are as at your can was have not but what they we if so just like ' +
  'queue track song play skip pause volume voice channel server user message reply bot tool call music listen playlist ' +
  'remember always never when should must answer short friendly natural tone people chat conversation context memory ' +
  'search result link video youtube spotify lyrics artist album request latency session turn audio stream realtime ' +
  'model prompt instruction guideline persona humor respond politely ask clarify ignore spam mention discord guild ' +
  'about from into over after before because while during without within between through under again further then once'
).split(' ');

function words(random: () => number, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(WORDS[Math.floor(random() * WORDS.length)]!);
  return out.join(' ');
}

/** Prose of about `chars` characters: sentences, some markdown, ids and quoted JSON, as prompts and model output are. */
function prose(random: () => number, chars: number): string {
  const parts: string[] = [];
  let size = 0;
  let i = 0;
  while (size < chars) {
    i++;
    let s: string;
    if (i % 17 === 0) s = `\n## ${words(random, 3)}\n`;
    else if (i % 11 === 0) s = `- ${words(random, 8 + Math.floor(random() * 8))} (user ${GUILD.slice(0, 10)}${Math.floor(random() * 1e9)})\n`;
    else if (i % 23 === 0) s = `\`\`\`json\n{"toolName":"music_queue_add","args":{"query":"${words(random, 4)}","position":${Math.floor(random() * 20)}},"callId":"call_${Math.floor(random() * 1e6)}"}\n\`\`\`\n`;
    else {
      const sentence = words(random, 6 + Math.floor(random() * 14));
      s = `${sentence[0]!.toUpperCase()}${sentence.slice(1)}. `;
    }
    parts.push(s);
    size += s.length;
  }
  return parts.join('').slice(0, chars);
}

function stack(random: () => number, frames: number): string {
  const lines = [`Error: realtime tool output send failed: socket closed (session ${BUSY_SESSION}, req_${Math.floor(random() * 1e12).toString(16)})`];
  for (let i = 0; i < frames; i++) {
    const file = ['src/voice/realtime-session.ts', 'src/voice/tools/music-queue.ts', 'src/voice/openai-realtime-client.ts', 'node_modules/ws/lib/websocket.js', 'src/store/runtime-action-logger.ts'][i % 5]!;
    lines.push(`    at ${['RealtimeSession.sendToolOutput', 'MusicQueue.add', 'WebSocket.send', 'handleToolCall', 'processTicksAndRejections'][i % 5]} (${path.posix.join('/srv/clanky', file)}:${10 + Math.floor(random() * 900)}:${1 + Math.floor(random() * 60)})`);
  }
  return lines.join('\n');
}


function line(ts: number, o: Partial<LogLine> & Pick<LogLine, 'kind' | 'event'>): string {
  const l: LogLine = {
    ts: new Date(ts).toISOString(),
    source: 'store_action',
    level: o.kind.includes('error') ? 'error' : 'info',
    agent: 'voice',
    guild_id: GUILD,
    channel_id: CHANNEL,
    message_id: null,
    user_id: '1180000000000000003',
    usd_cost: 0,
    content: o.event,
    metadata: null,
    ...o,
  };
  return JSON.stringify(l);
}

/** A busy voice session of `count` events ending at `end`. */
function busySession(end: number, count: number, random: () => number): string[] {
  const lines: string[] = [];
  const start = end - 40 * MINUTE;
  const step = (end - start) / count;
  for (let i = 0; i < count; i++) {
    const ts = Math.round(start + i * step);
    const turnId = `turn_${Math.floor(i / 8)}`;
    const base = { sessionId: BUSY_SESSION, turnId, botId: 'clanky', deployment: 'production', source: 'voice' };
    const r = i % 8;
    if (r === 0) {
      // The model's call with its whole prompt bundle (5-20 KB) and its output.
      const bundle = 5000 + Math.floor(random() * 15000);
      lines.push(
        line(ts, {
          kind: 'llm_call',
          event: 'claude-oauth:claude-sonnet-4-6',
          agent: 'runtime',
          usd_cost: Math.round(random() * 400) / 10000,
          content: prose(random, 300 + Math.floor(random() * 1500)),
          metadata: {
            ...base,
            provider: 'claude-oauth',
            model: 'claude-sonnet-4-6',
            usage: { inputTokens: 4000 + Math.floor(random() * 4000), outputTokens: 80 + Math.floor(random() * 400) },
            stopReason: 'tool_use',
            toolNames: 'music_queue_add,play_soundboard,web_search',
            replyPrompts: {
              systemPrompt: prose(random, Math.floor(bundle * 0.6)),
              initialUserPrompt: prose(random, Math.floor(bundle * 0.25)),
              followupUserPrompts: [prose(random, Math.floor(bundle * 0.08)), prose(random, Math.floor(bundle * 0.07))],
            },
          },
        }),
      );
    } else if (r === 1) {
      lines.push(line(ts, { kind: 'voice_runtime', event: 'voice_turn_addressing', content: `voice_turn_addressing`, metadata: { ...base, transcript: prose(random, 200 + Math.floor(random() * 400)), addressed: random() < 0.7, confidence: Math.round(random() * 100) / 100, latencyMs: Math.round(200 + random() * 600) } }));
    } else if (r === 2 || r === 3) {
      lines.push(line(ts, { kind: 'voice_runtime', event: 'realtime_tool_call_completed', metadata: { ...base, callId: `call_${i}`, toolName: ['music_queue_add', 'web_search', 'play_soundboard', 'memory_lookup'][i % 4], toolType: 'function', runtimeMs: Math.round(100 + random() * 900), outputSummary: words(random, 12), error: null } }));
    } else if (r === 4) {
      // A failure logged twice, as the bot does: the generic event and the tool's own, each with a stack.
      const err = `socket closed while sending output of call_${i} to the realtime session ${BUSY_SESSION} (req_${Math.floor(random() * 1e12).toString(16)})`;
      lines.push(line(ts, { kind: 'voice_error', event: 'realtime_tool_call_failed', metadata: { ...base, callId: `call_${i}`, toolName: 'music_queue_add', toolType: 'function', runtimeMs: Math.round(20 + random() * 60), error: { name: 'Error', message: err, stack: stack(random, 30) } } }));
      lines.push(line(ts + 5, { kind: 'voice_error', event: `voice_tool_music_play_failed: ${err}`.slice(0, 180), content: `voice_tool_music_play_failed: ${err}`, metadata: { ...base, callId: `call_${i}`, toolName: 'music_queue_add', error: err, stack: stack(random, 40) } }));
    } else if (r === 5) {
      const reply = prose(random, 100 + Math.floor(random() * 300));
      lines.push(line(ts, { kind: 'sent_reply', event: reply.slice(0, 180), agent: 'runtime', content: reply, message_id: `11800000000${String(400000000 + i)}`, metadata: { ...base, triggerMessageIds: [`11800000000${String(500000000 + i)}`, `11800000000${String(500000001 + i)}`], durationMs: Math.round(50 + random() * 100) } }));
    } else if (r === 6) {
      lines.push(line(ts, { kind: 'tts_call', event: 'tts:openai:gpt-4o-mini-tts', agent: 'voice', usd_cost: 0.0012, content: prose(random, 200), metadata: { ...base, durationMs: Math.round(300 + random() * 500), characters: 200 } }));
    } else {
      lines.push(line(ts, { kind: 'search_call', event: words(random, 8).slice(0, 180), agent: 'runtime', usd_cost: 0.005, content: words(random, 8), metadata: { ...base, provider: 'brave', results: Array.from({ length: 10 }, (_, k) => ({ title: words(random, 6), url: `https://example.invalid/${k}/${words(random, 3).replace(/ /g, '-')}`, snippet: words(random, 25) })), durationMs: Math.round(400 + random() * 800) } }));
    }
  }
  return lines;
}

/** Many tools failing at once in the last minutes, after a healthy day: many anomalies of every rule. */
function manyFailingTools(end: number, random: () => number, tools = 30): string[] {
  const lines: string[] = [];
  for (let t = 0; t < tools; t++) {
    const toolName = `tool_${['music', 'search', 'memory', 'browser', 'tts', 'soundboard'][t % 6]}_${t}_${words(random, 2).replace(/ /g, '_')}`;
    // Baseline: a healthy call every 20 minutes for a day.
    for (let ts = end - 24 * 60 * MINUTE; ts < end - 12 * MINUTE; ts += 20 * MINUTE) {
      lines.push(line(ts + Math.floor(random() * 60_000), { kind: 'voice_runtime', event: 'realtime_tool_call_completed', metadata: { sessionId: `vs_${t}_${Math.floor(ts / 1e6)}`, callId: `call_${t}_${ts}`, toolName, runtimeMs: Math.round(100 + random() * 100), error: null } }));
    }
    // The incident: 24 calls in the last 9 minutes, most failing slowly with a long message.
    for (let k = 0; k < 24; k++) {
      const ts = end - 9 * MINUTE + Math.floor((k * 9 * MINUTE) / 24);
      const failing = k % 5 !== 0;
      const message = `${toolName} upstream request failed: ${words(random, 30)} status=${500 + (t % 4)} req_${Math.floor(random() * 1e12).toString(16)} after ${Math.round(2000 + random() * 3000)} ms`;
      lines.push(
        line(ts, {
          kind: failing ? 'voice_error' : 'voice_runtime',
          event: failing ? `realtime_tool_call_failed` : 'realtime_tool_call_completed',
          content: failing ? `${toolName}_failed: ${message}` : 'realtime_tool_call_completed',
          usd_cost: 0.02,
          metadata: { sessionId: `vs_incident_${t}`, callId: `call_${t}_i${k}`, toolName, runtimeMs: Math.round(3000 + random() * 3000), error: failing ? message : null, ...(failing ? { stack: stack(random, 12) } : {}) },
        }),
      );
    }
  }
  return lines;
}

async function git(dir: string, args: string[], input?: string): Promise<string> {
  const env = { GIT_AUTHOR_NAME: 'Bot Developer', GIT_AUTHOR_EMAIL: 'dev@example.invalid', GIT_COMMITTER_NAME: 'Bot Developer', GIT_COMMITTER_EMAIL: 'dev@example.invalid' };
  const { stdout } = await execa('git', args, { cwd: dir, env, ...(input !== undefined ? { input } : {}) });
  return stdout;
}

function handlerSource(n: number, version: number, random: () => number): string {
  const body = Array.from({ length: 30 + Math.floor(random() * 40) }, (_, i) => `  // ${words(random, 8)}\n  if (input.step === ${i}) return \`${words(random, 5)} \${input.name} v${version}\`;`).join('\n');
  return `export interface HandlerInput${n} {\n  name: string;\n  step: number;\n}\n\nexport function handler${n}(input: HandlerInput${n}): string {\n${body}\n  return 'done';\n}\n`;
}

/** `count` commits on top of HEAD (git fast-import), dated one every ~10 s up to `end`, each changing a few handler files. */
async function recentCommits(dir: string, count: number, end: number, random: () => number): Promise<void> {
  const authors = ['Ana Developer <ana@example.invalid>', 'Bo Maintainer <bo@example.invalid>', 'Cy Contributor <cy@example.invalid>', 'selfscope agent <agent@example.invalid>'];
  const head = (await git(dir, ['rev-parse', 'HEAD'])).trim();
  const chunks: string[] = [];
  for (let c = 0; c < count; c++) {
    const when = Math.floor((end - (count - c) * 10_000) / 1000);
    // Most commits touch 2-10 files; every 25th is a refactor of 60.
    const touched = c % 25 === 24 ? 60 : 2 + Math.floor(random() * 9);
    const subject = `${['Fix', 'Add', 'Refactor', 'Tune', 'Log'][c % 5]} ${words(random, 6)} in voice handlers (#${1000 + c})`;
    const message = `${subject}\n\n${words(random, 40)}\n`;
    const author = authors[c % authors.length]!;
    chunks.push(`commit refs/heads/main\nauthor ${author} ${when} +0000\ncommitter ${author} ${when} +0000\ndata ${Buffer.byteLength(message)}\n${message}`);
    if (c === 0) chunks.push(`from ${head}\n`);
    for (let f = 0; f < touched; f++) {
      const n = Math.floor(random() * 300);
      const content = handlerSource(n, c, random);
      chunks.push(`M 100644 inline src/voice/handlers/handler-${String(n).padStart(3, '0')}.ts\ndata ${Buffer.byteLength(content)}\n${content}\n`);
    }
  }
  await git(dir, ['fast-import', '--quiet'], chunks.join(''));
  await git(dir, ['reset', '-q', '--hard', 'main']);
}

const FAILING_TESTS = (count: number) => `import { describe, expect, it } from 'vitest';

const track = (i: number) => ({ id: \`track-\${i}\`, title: \`a song called number \${i} from the playlist of the voice channel\`, artist: 'some artist', durationMs: 180000 + i, requestedBy: '1180000000000000003', tags: ['rock', 'live', 'remaster', String(i)] });

describe('music queue handlers after the refactor of every voice handler in the bot', () => {
${Array.from({ length: count }, (_, i) => `  it('keeps track ${i} in the queue with its metadata when a skip interrupts a load in a busy voice session', () => {
    expect({ queue: [track(${i}), track(${i + 1})], current: track(${i}), loading: false }).toEqual({ queue: [track(${i + 1}), track(${i})], current: null, loading: true });
  });`).join('\n')}
});
`;

export interface SizesFixture {
  dir: string;
  logFile: string;
  /** $XDG_STATE_HOME for the server's private state. */
  stateHome: string;
  cleanup(): Promise<void>;
}

/** Builds the repository (about 10-20 s on a busy 2-core machine). */
export async function createSizesFixture(): Promise<SizesFixture> {
  const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-sizes-')));
  const stateHome = `${dir}.state`;
  const now = Date.now();
  // The demo bot's log ends now: its incident is live.
  const bot = await createBotFixture(dir, path.join(PACKAGE_ROOT, 'node_modules'), now + LOG_END_OFFSET_MS);
  const random = rng(7);
  const end = now - 30_000;
  const extra = [
    ...busySession(end - MINUTE, 420, random),
    ...manyFailingTools(end, random),
    // One 50 KB content line (a long model output), with a 20 KB prompt bundle.
    line(end - 2 * MINUTE, {
      kind: 'llm_call',
      event: 'claude-oauth:claude-sonnet-4-6',
      agent: 'runtime',
      usd_cost: 0.31,
      content: prose(random, BIG_CONTENT_CHARS),
      metadata: { sessionId: BUSY_SESSION, turnId: 'turn_big', provider: 'claude-oauth', model: 'claude-sonnet-4-6', replyPrompts: { systemPrompt: prose(random, 14_000), initialUserPrompt: prose(random, 6_000) } },
    }),
  ];
  await fs.appendFile(bot.logFile, `${extra.join('\n')}\n`);

  await recentCommits(dir, 220, now - 15 * MINUTE, random);

  // A big uncommitted change: 120 handlers edited (a third with type errors), 60 new, and a test file full of failures.
  for (let n = 0; n < 120; n++) {
    const file = path.join(dir, 'src', 'voice', 'handlers', `handler-${String(n).padStart(3, '0')}.ts`);
    const broken = n % 3 === 0 ? `\nexport const broken${n}: number = 'not a number ${n}';\nexport const alsoBroken${n}: string = ${n};\n` : '';
    await fs.writeFile(file, `${handlerSource(n, 999, random)}${broken}`);
  }
  for (let n = 0; n < 60; n++) await fs.writeFile(path.join(dir, 'src', 'voice', 'handlers', `new-handler-${String(n).padStart(3, '0')}.ts`), handlerSource(1000 + n, 1, random));
  await fs.writeFile(path.join(dir, 'test', 'handlers-refactor.test.ts'), FAILING_TESTS(150));

  return {
    dir,
    logFile: bot.logFile,
    stateHome,
    cleanup: async () => {
      await fs.rm(dir, { recursive: true, force: true });
      await fs.rm(stateHome, { recursive: true, force: true });
    },
  };
}
