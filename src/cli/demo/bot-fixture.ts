import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * The demo's example bot: a tiny TypeScript music bot with tests, a git history in which
 * one commit introduced a bug, and a runtime log in the bot's format with the incident
 * the bug causes ("queue state undefined" on music_queue_add after that commit).
 *
 * The log runs on a logical clock that ends `LOG_END_OFFSET_MS` before the real now, so
 * that the lines the demo appends "after the fix" are still in the past.
 */

export const LOG_END_OFFSET_MS = 60 * 60 * 1000;
const MINUTE = 60_000;
// About six actions a minute: enough for the rules' minimum samples in a 10-minute window.
const STEP_MS = 10_000;

const QUEUE_OK = `export interface Track {
  id: string;
  title: string;
}

interface QueueState {
  tracks: Track[];
  current: Track | null;
  loading: boolean;
}

export class MusicQueue {
  private state: QueueState | undefined = { tracks: [], current: null, loading: false };

  add(track: Track): number {
    if (!this.state) throw new Error('queue state undefined');
    this.state.tracks.push(track);
    return this.state.tracks.length;
  }

  startLoading(): void {
    if (this.state) this.state.loading = true;
  }

  skip(): Track | null {
    if (!this.state) throw new Error('queue state undefined');
    this.state.current = this.state.tracks.shift() ?? null;
    this.state.loading = false;
    return this.state.current;
  }

  get length(): number {
    return this.state?.tracks.length ?? 0;
  }
}
`;

// The culprit: skipping while a track loads "resets" the queue by dropping its state.
export const QUEUE_BUGGY = QUEUE_OK.replace(
  `  skip(): Track | null {
    if (!this.state) throw new Error('queue state undefined');
    this.state.current`,
  `  skip(): Track | null {
    if (!this.state) throw new Error('queue state undefined');
    if (this.state.loading) {
      // Reset the queue when a skip interrupts a load, to avoid a stale current track.
      this.state = undefined;
      return null;
    }
    this.state.current`,
);

// The fix the demo applies in place of an agent's edit: reset the load, keep the queue.
export const QUEUE_FIXED = QUEUE_OK.replace(
  `  skip(): Track | null {
    if (!this.state) throw new Error('queue state undefined');
    this.state.current`,
  `  skip(): Track | null {
    if (!this.state) throw new Error('queue state undefined');
    if (this.state.loading) {
      // A skip that interrupts a load cancels the load; the queue itself stays.
      this.state.loading = false;
      this.state.current = null;
      return null;
    }
    this.state.current`,
);

const QUEUE_TEST = `import { describe, expect, it } from 'vitest';
import { MusicQueue } from '../src/music-queue.js';

describe('MusicQueue', () => {
  it('adds tracks in order', () => {
    const queue = new MusicQueue();
    queue.add({ id: '1', title: 'one' });
    expect(queue.add({ id: '2', title: 'two' })).toBe(2);
  });

  it('skips to the next track', () => {
    const queue = new MusicQueue();
    queue.add({ id: '1', title: 'one' });
    expect(queue.skip()?.id).toBe('1');
  });
});
`;

export const REGRESSION_TEST = `import { expect, it } from 'vitest';
import { MusicQueue } from '../src/music-queue.js';

it('keeps the queue when a skip interrupts a load', () => {
  const queue = new MusicQueue();
  queue.add({ id: '1', title: 'one' });
  queue.startLoading();
  queue.skip();
  expect(queue.add({ id: '2', title: 'two' })).toBe(2);
});
`;

const VOLUME = `export function clampVolume(value: number): number {
  return Math.min(100, Math.max(0, Math.round(value)));
}
`;

const GREETING = `export function greeting(name: string): string {
  return \`hey \${name}, what are we listening to?\`;
}
`;

export interface BotFixture {
  dir: string;
  logFile: string;
  /** The logical end of the generated log (the incident is ongoing at this time). */
  logEnd: Date;
  culprit: { sha: string; subject: string };
}

/** One runtime action log line in the bot's format. */
export interface LogLine {
  ts: string;
  source: string;
  level: 'info' | 'error';
  kind: string;
  event: string;
  agent: string;
  guild_id: string | null;
  channel_id: string | null;
  message_id: string | null;
  user_id: string | null;
  usd_cost: number;
  content: string | null;
  metadata: Record<string, unknown> | null;
}

const GUILD = '1180000000000000001';
const CHANNEL = '1180000000000000002';

/** A small deterministic PRNG so every demo log is the same. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function toolCall(at: number, n: number, ok: boolean, random: () => number): LogLine {
  const user = `11800000000000001${String(10 + (n % 40)).padStart(2, '0')}`;
  const base = {
    ts: new Date(at).toISOString(),
    source: 'store_action',
    agent: 'voice',
    guild_id: GUILD,
    channel_id: CHANNEL,
    message_id: null,
    user_id: user,
    usd_cost: 0,
  };
  const session = `vs-${Math.floor(n / 6)}`;
  if (ok) {
    return {
      ...base,
      level: 'info',
      kind: 'voice_runtime',
      event: 'realtime_tool_call_completed',
      content: 'realtime_tool_call_completed',
      metadata: { sessionId: session, callId: `call_${n}`, toolName: 'music_queue_add', toolType: 'function', runtimeMs: Math.round(250 + random() * 300), outputSummary: 'queued 1 track', error: null },
    };
  }
  return {
    ...base,
    level: 'error',
    kind: 'voice_error',
    event: 'realtime_tool_call_failed',
    content: 'realtime_tool_call_failed',
    metadata: {
      sessionId: session,
      callId: `call_${n}`,
      toolName: 'music_queue_add',
      toolType: 'function',
      runtimeMs: Math.round(20 + random() * 30),
      error: 'queue state undefined',
      stack: 'Error: queue state undefined\n    at MusicQueue.add (src/music-queue.ts:17:29)\n    at handleToolCall (src/voice/tools.ts:42:18)',
    },
  };
}

function background(at: number, n: number, random: () => number): LogLine {
  const r = random();
  const base = { ts: new Date(at).toISOString(), source: 'store_action', guild_id: GUILD, channel_id: CHANNEL, user_id: '1180000000000000004' };
  if (r < 0.5) {
    return {
      ...base,
      level: 'info',
      kind: 'llm_call',
      event: 'claude-oauth:claude-sonnet-4-6',
      agent: 'runtime',
      message_id: `11800000000${String(100000000 + n)}`,
      usd_cost: Math.round((0.002 + random() * 0.004) * 10000) / 10000,
      content: 'claude-oauth:claude-sonnet-4-6',
      metadata: { provider: 'claude-oauth', model: 'claude-sonnet-4-6', usage: { inputTokens: 2000 + Math.round(random() * 800), outputTokens: 90 }, durationMs: Math.round(1200 + random() * 900), stopReason: 'end_turn' },
    };
  }
  return {
    ...base,
    level: 'info',
    kind: 'sent_reply',
    event: 'reply_sent',
    agent: 'bot',
    message_id: `11800000000${String(200000000 + n)}`,
    usd_cost: 0,
    content: 'sure, queued it',
    metadata: { triggerMessageId: `11800000000${String(300000000 + n)}`, durationMs: Math.round(80 + random() * 60) },
  };
}

/** Healthy and failing traffic: baseline before `bugAt`, failures of music_queue_add after it. */
function incidentLog(start: number, end: number, bugAt: number, seed: number): LogLine[] {
  const random = rng(seed);
  const lines: LogLine[] = [];
  let n = 0;
  for (let t = start; t < end; t += Math.round(STEP_MS * (0.6 + random() * 0.8))) {
    n++;
    if (random() < 0.55) {
      const failing = t >= bugAt && random() < 0.45;
      lines.push(toolCall(t, n, !failing, random));
    } else {
      lines.push(background(t, n, random));
    }
  }
  return lines;
}

/** Lines after the fix: the same traffic, with music_queue_add healthy again. */
export function postFixLog(from: Date, minutes: number, seed = 7): string {
  const random = rng(seed);
  const lines: LogLine[] = [];
  let n = 100_000;
  for (let t = from.getTime(); t < from.getTime() + minutes * MINUTE; t += Math.round(STEP_MS * (0.6 + random() * 0.8))) {
    n++;
    lines.push(random() < 0.55 ? toolCall(t, n, true, random) : background(t, n, random));
  }
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

/** A deploy event in the bot's log: the marker verify_fix compares around. */
export function deployLine(at: Date, sha: string): string {
  return `${JSON.stringify({
    ts: at.toISOString(),
    source: 'store_action',
    level: 'info',
    kind: 'bot_runtime',
    event: 'deploy_completed',
    agent: 'runtime',
    guild_id: null,
    channel_id: null,
    message_id: null,
    user_id: null,
    usd_cost: 0,
    content: `deployed ${sha}`,
    metadata: { deployment: 'production', commit: sha },
  })}\n`;
}

async function commit(dir: string, files: Record<string, string>, subject: string, date: Date): Promise<string> {
  for (const [name, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), content);
  }
  const env = {
    GIT_AUTHOR_NAME: 'Bot Developer',
    GIT_AUTHOR_EMAIL: 'dev@example.invalid',
    GIT_COMMITTER_NAME: 'Bot Developer',
    GIT_COMMITTER_EMAIL: 'dev@example.invalid',
    GIT_AUTHOR_DATE: date.toISOString(),
    GIT_COMMITTER_DATE: date.toISOString(),
  };
  const { execa } = await import('execa');
  await execa('git', ['add', '-A'], { cwd: dir });
  await execa('git', ['commit', '-q', '-m', subject], { cwd: dir, env });
  return (await execa('git', ['rev-parse', 'HEAD'], { cwd: dir })).stdout.trim();
}

/**
 * Creates the example bot repository in `dir` (empty), with `node_modules` linked to
 * `toolchainNodeModules` so that its tsc and vitest run offline.
 */
export async function createBotFixture(dir: string, toolchainNodeModules: string, now = Date.now()): Promise<BotFixture> {
  const logEnd = new Date(now - LOG_END_OFFSET_MS);
  const bugAt = logEnd.getTime() - 40 * MINUTE;
  const logStart = logEnd.getTime() - 24 * 60 * MINUTE;

  const { execa } = await import('execa');
  await execa('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  await fs.symlink(toolchainNodeModules, path.join(dir, 'node_modules'), 'dir');
  const day = 24 * 60 * MINUTE;
  await commit(
    dir,
    {
      '.gitignore': 'node_modules\ndata/\n',
      'package.json': `${JSON.stringify({ name: 'example-bot', private: true, type: 'module', scripts: { typecheck: 'tsc --noEmit -p .', test: 'vitest run' } }, null, 2)}\n`,
      'package-lock.json': '{"name":"example-bot","lockfileVersion":3,"packages":{}}\n',
      'tsconfig.json': `${JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: [] }, include: ['src'] }, null, 2)}\n`,
      'src/music-queue.ts': QUEUE_OK,
      'src/greeting.ts': GREETING,
      'test/music-queue.test.ts': QUEUE_TEST,
      'README.md': '# example bot\n\nA music bot that logs every action to data/logs/runtime-actions.ndjson.\n',
    },
    'Initial music bot',
    new Date(logStart - 10 * day),
  );
  await commit(dir, { 'src/volume.ts': VOLUME }, 'Add volume clamping', new Date(logStart - 3 * day));
  await commit(dir, { 'src/greeting.ts': GREETING.replace('hey', 'hi') }, 'Friendlier greeting', new Date(bugAt - 5 * 60 * MINUTE));
  const culpritSubject = 'Reset queue state when a skip interrupts a track load';
  const culpritSha = await commit(dir, { 'src/music-queue.ts': QUEUE_BUGGY }, culpritSubject, new Date(bugAt - 20 * MINUTE));
  await commit(dir, { 'README.md': '# example bot\n\nA music bot. Its runtime log: data/logs/runtime-actions.ndjson.\n' }, 'Docs: where the log lives', new Date(bugAt - 10 * MINUTE));

  const logFile = path.join(dir, 'data', 'logs', 'runtime-actions.ndjson');
  await fs.mkdir(path.dirname(logFile), { recursive: true });
  const lines = incidentLog(logStart, logEnd.getTime(), bugAt, 42);
  await fs.writeFile(logFile, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return { dir, logFile, logEnd, culprit: { sha: culpritSha, subject: culpritSubject } };
}
