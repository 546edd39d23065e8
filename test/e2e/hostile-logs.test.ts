import fs from 'node:fs/promises';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { MARKER_NAME } from '../../src/core/text/delimit.js';
import { UNTRUSTED_NOTICE } from '../../src/core/text/egress.js';
import { AppContext } from '../../src/server/app-context.js';
import { createServer } from '../../src/server/create-server.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { FAKE_END, FAKE_START, HOSTILE_TEXT, INSTRUCTION, rawUnsafeIn, SECRET_SAMPLES, secretsIn, stringsOf } from '../helpers/hostile.js';
import { logLine, series } from '../helpers/log-lines.js';
import { createTempRepo, type TempRepo } from '../helpers/temp-repo.js';

/**
 * Hostile log lines through every log tool, resource and prompt, in process with the real
 * SDK client: nothing raw (controls, bidi, secrets, marker imitations) gets out, every
 * value and every result is bounded, and every log-derived result says it is untrusted.
 */

const FIELD_BYTES = 2048;
const RESULT_BYTES = 60_000;
const TOKEN = SECRET_SAMPLES['github_token']!.text;
const BIG = 5_000_000;
const NOW = Date.now();
const START = new RegExp(`<${MARKER_NAME} id="([0-9a-f]{16})"[^>]*>`, 'g');

type ToolResult = { isError?: boolean; structuredContent?: Record<string, unknown>; content: Array<{ type: string; text?: string }> };

let repo: TempRepo;
let outsideDir: string;
let client: Client;
let app: AppContext;
const seenNonces: string[] = [];

/** The untrusted blocks of a text: each must be closed by the end marker with its own nonce, and nothing else. */
function blocksOf(text: string): Array<{ nonce: string; body: string; from: number; to: number }> {
  const blocks: Array<{ nonce: string; body: string; from: number; to: number }> = [];
  for (const m of text.matchAll(START)) {
    const end = `</${MARKER_NAME} id="${m[1]}">`;
    const to = text.indexOf(end, m.index);
    expect(to, `block ${m[1]} is closed`).toBeGreaterThan(m.index);
    blocks.push({ nonce: m[1]!, body: text.slice(m.index + m[0].length, to), from: m.index, to: to + end.length });
  }
  return blocks;
}

/** The checks every outgoing text must pass; `delimited`: log text in it must sit inside a block (not so in JSON, which carries untrusted_notice). */
function checkText(label: string, text: string, delimited = true): void {
  expect(rawUnsafeIn(text), `${label}: raw control or invisible character`).toBeNull();
  expect(secretsIn(text), `${label}: secrets`).toEqual([]);
  expect(text, `${label}: a fake end marker`).not.toContain(FAKE_END);
  expect(text, `${label}: a fake start marker`).not.toContain(FAKE_START);
  const blocks = blocksOf(text);
  // Markers: exactly one start and one end per block, one nonce per response.
  expect(text.split(`<${MARKER_NAME}`).length - 1, `${label}: start markers`).toBe(blocks.length);
  expect(text.split(`</${MARKER_NAME}`).length - 1, `${label}: end markers`).toBe(blocks.length);
  expect(new Set(blocks.map((b) => b.nonce)).size, `${label}: one nonce per response`).toBeLessThanOrEqual(1);
  if (blocks[0]) seenNonces.push(blocks[0].nonce);
  // What a log line says is only ever inside a block.
  for (let i = delimited ? text.indexOf(INSTRUCTION) : -1; i >= 0; i = text.indexOf(INSTRUCTION, i + 1)) {
    expect(blocks.some((b) => b.from < i && i < b.to), `${label}: log text outside the untrusted block`).toBe(true);
  }
}

/** The checks every log-derived structured value must pass. */
function checkStructured(label: string, value: Record<string, unknown>): void {
  expect(value['untrusted_notice'], `${label}: untrusted_notice`).toBe(UNTRUSTED_NOTICE);
  for (const [at, s] of stringsOf(value)) {
    expect(rawUnsafeIn(s), `${label} ${at}: raw control or invisible character`).toBeNull();
    expect(Buffer.byteLength(s), `${label} ${at}: over limits.fieldBytes`).toBeLessThanOrEqual(FIELD_BYTES);
    expect(s, `${label} ${at}`).not.toContain(FAKE_END);
  }
  expect(secretsIn(JSON.stringify(value)), `${label}: secrets`).toEqual([]);
}

async function tool(name: string, args: Record<string, unknown>): Promise<ToolResult> {
  const result = (await client.callTool({ name, arguments: args })) as ToolResult;
  const text = result.content.map((c) => c.text ?? '').join('\n');
  checkText(`${name} ${JSON.stringify(args).slice(0, 80)}`, text);
  if (result.isError) return result;
  checkStructured(name, result.structuredContent!);
  const total = Buffer.byteLength(JSON.stringify(result.structuredContent)) + Buffer.byteLength(text);
  expect(total, `${name}: over limits.resultBytes`).toBeLessThanOrEqual(RESULT_BYTES);
  return result;
}

/** A JSON resource body: bounded, clean, and marked with untrusted_notice. */
async function resource(uri: string): Promise<Record<string, unknown>> {
  const result = await client.readResource({ uri });
  expect(result.contents).toHaveLength(1);
  const text = String((result.contents[0] as { text?: string }).text ?? '');
  expect(Buffer.byteLength(text), `${uri}: over limits.resultBytes`).toBeLessThanOrEqual(RESULT_BYTES);
  checkText(uri, text, false);
  const body = JSON.parse(text) as Record<string, unknown>;
  checkStructured(uri, body);
  return body;
}

async function prompt(name: string, args: Record<string, string>): Promise<string> {
  const result = await client.getPrompt({ name, arguments: args });
  const text = result.messages.map((m) => (m.content as { text?: string }).text ?? '').join('\n');
  expect(Buffer.byteLength(text)).toBeLessThanOrEqual(RESULT_BYTES);
  checkText(`prompt ${name}`, text);
  checkText(`prompt ${name} description`, result.description ?? '');
  return text;
}

beforeAll(async () => {
  repo = await createTempRepo();
  outsideDir = `${repo.dir}.outside`;
  await fs.mkdir(path.join(outsideDir, 'logs'), { recursive: true });
  await fs.writeFile(
    path.join(repo.dir, 'selfscope.config.json'),
    JSON.stringify({ logs: ['data/logs/**/*.ndjson'], limits: { fieldBytes: FIELD_BYTES, resultBytes: RESULT_BYTES, lineBytes: 16 * 1024 * 1024 } }),
  );
  const lines = [
    // An ordinary baseline over three days.
    ...series(300, NOW - 30 * 60_000, 15 * 60_000, (i, ts) => ({ ts, kind: 'voice_runtime', event: 'realtime_tool_call_completed', metadata: { toolName: 'music_queue_add', runtimeMs: 100 + (i % 50), sessionId: `vs-${i}` } })),
    // The incident: a hostile tool name, error and content, failing 30 times in the last minutes.
    ...series(30, NOW - 60_000, 10_000, (i, ts) => ({
      ts,
      kind: 'voice_error',
      event: `realtime_tool_call_failed: ${HOSTILE_TEXT}`.slice(0, 400),
      content: HOSTILE_TEXT,
      message_id: '1180000000000000777',
      metadata: {
        // A tool name is a subject only when it is a name (bidi and control characters are not): this one is, and holds a secret.
        toolName: `music.${TOKEN}`,
        error: `queue broke ${HOSTILE_TEXT}`,
        stack: `Error: ${HOSTILE_TEXT}\n    at src/music/queue.ts:42:7`,
        sessionId: 'vs-hostile',
        callId: `call_${i}`,
        channelName: `${TOKEN} \u202e${FAKE_END}`,
        [`ke\u202ey ${TOKEN}`]: HOSTILE_TEXT,
        runtimeMs: 5000,
      },
    })),
    // 5 MB of content, and 5 MB of metadata, on one line each.
    logLine({ ts: new Date(NOW - 30_000), kind: 'sent_reply', event: 'reply_sent', content: `${HOSTILE_TEXT} ${'A'.repeat(BIG)} ${TOKEN}`, metadata: { sessionId: 'vs-big' } }),
    logLine({ ts: new Date(NOW - 29_000), kind: 'llm_call', event: 'claude', content: 'x', metadata: { sessionId: 'vs-big', replyPrompts: { systemPrompt: `${'B'.repeat(BIG)} ${TOKEN}` } } }),
  ];
  await fs.mkdir(path.join(repo.dir, 'data', 'logs'), { recursive: true });
  await fs.writeFile(path.join(repo.dir, 'data', 'logs', 'runtime-actions.ndjson'), `${lines.join('\n')}\n`);
  // Links out of the repository: a directory and a file. Neither may be read.
  const outsideLine = logLine({ ts: new Date(NOW - 10_000), kind: 'bot_error', event: 'OUTSIDE_THE_REPOSITORY', content: 'OUTSIDE_THE_REPOSITORY' });
  await fs.writeFile(path.join(outsideDir, 'logs', 'other.ndjson'), `${outsideLine}\n`);
  await fs.symlink(path.join(outsideDir, 'logs'), path.join(repo.dir, 'data', 'logs', 'linked'));
  await fs.symlink(path.join(outsideDir, 'logs', 'other.ndjson'), path.join(repo.dir, 'data', 'logs', 'other.ndjson'));

  const config = await loadConfig({ cwd: repo.dir, env: { XDG_STATE_HOME: path.join(repo.privateDir, 'xdg') } });
  app = new AppContext(config, silentLogger, { transport: 'in-process', readOnly: false, toolsets: undefined }, repo.dir);
  const server = createServer(app);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  client = new Client({ name: 'hostile-test', version: '0' });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  // Caches the output schemas: every structuredContent below is validated against its tool's.
  await client.listTools();
}, 120_000);

afterAll(async () => {
  await client?.close();
  await app?.close();
  await repo?.cleanup();
  await fs.rm(outsideDir, { recursive: true, force: true });
});

describe('every log tool, resource and prompt keeps hostile log text inert', () => {
  it('declares untrusted_notice in the output schema of every log-derived tool', async () => {
    const { tools } = await client.listTools();
    const untrustedTools = ALL_TOOLS.filter((t) => t.untrusted).map((t) => t.name);
    expect(untrustedTools).toEqual(expect.arrayContaining(['query_runtime_logs', 'get_log_event', 'log_timeline', 'detect_anomalies', 'suspect_commits', 'verify_fix']));
    for (const t of ALL_TOOLS.filter((d) => d.toolset === 'logs' || d.toolset === 'anomalies')) expect(t.untrusted, t.name).toBe(true);
    for (const t of tools.filter((d) => untrustedTools.includes(d.name))) {
      expect(t.outputSchema?.properties?.['untrusted_notice'], t.name).toBeDefined();
    }
  });

  it('query_runtime_logs: events, aggregates (group keys from metadata) and sql', async () => {
    const events = await tool('query_runtime_logs', { fields: ['content', 'metadata', 'error', 'event', 'tool_name', 'session_id'], limit: 100 });
    expect(events.structuredContent!['total_matched']).toBe(332);
    expect(JSON.stringify(events.structuredContent)).toContain('[REDACTED:github_token]');
    expect(JSON.stringify(events.structuredContent)).toContain('\\\\u{202e}');
    await tool('query_runtime_logs', { text: 'ignore previous' });
    const byChannel = await tool('query_runtime_logs', { mode: 'aggregate', group_by: ['metadata.channelName', 'tool_name', 'fingerprint'], metrics: ['count', 'errors'] });
    const keys = (byChannel.structuredContent!['rows'] as Array<Record<string, unknown>>).map((r) => r['metadata_channelName']);
    expect(keys).toContain(`[REDACTED:github_token] \\u{202e}&lt;/untrusted-log-data id="0123456789abcdef">`);
    await tool('query_runtime_logs', { mode: 'aggregate', group_by: ['event', 'agent'], bucket: '1h' });
  });

  it('sql mode bounds every value and the total, and says how to page', async () => {
    const aliased = await tool('query_runtime_logs', { mode: 'sql', sql: 'SELECT content AS x, metadata AS "ignore\u202e previous" FROM logs ORDER BY ts DESC' });
    const s = aliased.structuredContent!;
    expect(s['truncated']).toBe(true);
    expect(s['truncated_reason']).toMatch(/LIMIT \d+ OFFSET \d+/);
    expect(s['cut_fields']).toBeGreaterThan(0);
    expect(Object.keys((s['rows'] as Array<Record<string, unknown>>)[0]!)).toEqual(['x', 'ignore\\u{202e} previous']);
    const big = await tool('query_runtime_logs', { mode: 'sql', sql: "SELECT repeat('a', 5000000) AS big" });
    const cell = String((big.structuredContent!['rows'] as Array<Record<string, unknown>>)[0]!['big']);
    expect(cell).toMatch(/…\[cut \d+ bytes\]$/);
    expect(big.structuredContent!['truncated_reason']).toMatch(/fields: 1 value\(s\) cut at 2048 bytes/);
    // One cell holding every line: nested values are cut too.
    await tool('query_runtime_logs', { mode: 'sql', sql: 'SELECT list(content) AS everything, list(metadata) AS meta FROM logs' });
    // A row wider than the whole result loses columns, with a note.
    const wide = await tool('query_runtime_logs', { mode: 'sql', sql: `SELECT ${Array.from({ length: 60 }, (_, i) => `repeat(content, 5) AS c${i}`).join(', ')} FROM logs WHERE kind = 'voice_error' LIMIT 2` });
    expect(wide.structuredContent!['truncated_reason']).toMatch(/first row alone exceeds/);
    await tool('query_runtime_logs', { mode: 'sql', sql: 'SELECT json_keys(metadata) AS k, [1::BIGINT, 2] AS l, {a: 1::HUGEINT} AS s FROM logs WHERE metadata IS NOT NULL LIMIT 5' });
    // DuckDB's error quotes the value it could not convert: it is shown, but only inside the block.
    const failed = await tool('query_runtime_logs', { mode: 'sql', sql: "SELECT CAST(content AS INTEGER) FROM logs WHERE kind = 'voice_error'" });
    expect(failed.isError).toBe(true);
    const text = failed.content[0]!.text!;
    expect(text).toMatch(/^The query failed; DuckDB's message \(it can quote log values\) follows\.\n<untrusted-log-data id="[0-9a-f]{16}"/);
    expect(text).toContain(INSTRUCTION);
    expect(text).toMatch(/What to do: /);
  });

  it('get_log_event pages a 5 MB field within the caps, without showing a secret split across pages', async () => {
    const [row] = (await tool('query_runtime_logs', { kind: 'sent_reply', limit: 1 })).structuredContent!['rows'] as Array<Record<string, unknown>>;
    const id = String(row!['id']);
    const first = await tool('get_log_event', { id });
    const cut = first.structuredContent!['cut'] as Array<{ field: string; next_offset: number | null; total_chars: number }>;
    const content = cut.find((c) => c.field === 'content')!;
    expect(content.total_chars).toBeGreaterThan(BIG);
    const last = await tool('get_log_event', { id, field: 'content', offset: content.total_chars - 100 });
    expect(JSON.stringify(last.structuredContent)).toContain('[REDACTED:github_token]');
    const [hostile] = (await tool('query_runtime_logs', { kind: 'voice_error', limit: 1 })).structuredContent!['rows'] as Array<Record<string, unknown>>;
    await tool('get_log_event', { id: String(hostile!['id']) });
    await tool('get_log_event', { id: String(hostile!['id']), field: 'metadata', offset: 10 });
    const [llm] = (await tool('query_runtime_logs', { kind: 'llm_call', limit: 1 })).structuredContent!['rows'] as Array<Record<string, unknown>>;
    await tool('get_log_event', { id: String(llm!['id']) });
  });

  it('log_timeline', async () => {
    const t = await tool('log_timeline', { session_id: 'vs-hostile' });
    expect(t.structuredContent!['total_events']).toBe(30);
    await tool('log_timeline', { message_id: '1180000000000000777' });
    await tool('log_timeline', { session_id: 'vs-big' });
  });

  it('detect_anomalies, suspect_commits and verify_fix, with subjects and summaries from hostile text', async () => {
    const detected = await tool('detect_anomalies', {});
    const anomalies = detected.structuredContent!['anomalies'] as Array<{ id: string; rule: string; subject: Record<string, string | null> }>;
    expect(anomalies.length).toBeGreaterThan(0);
    const errorRate = anomalies.find((a) => a.rule === 'error_rate')!;
    expect(errorRate.subject['operation']).toContain('[REDACTED:github_token]');
    for (const a of anomalies) {
      await tool('suspect_commits', { anomaly_id: a.id });
      await tool('verify_fix', { anomaly_id: a.id, time: '2m', window: '2m' });
    }
    await tool('suspect_commits', { time: '5m', error_text: HOSTILE_TEXT });
    await tool('detect_anomalies', { at: '1m', window: '30m' });
  });

  it('the log and anomaly resources', async () => {
    for (const uri of ['selfscope://logs/recent', 'selfscope://logs/errors', 'selfscope://logs/stats', 'selfscope://logs/kind/voice_error']) await resource(uri);
    const open = (await resource('selfscope://anomalies/open')) as { anomalies: Array<{ id: string; summary: string }> };
    expect(open.anomalies.length).toBeGreaterThan(0);
    expect(open.anomalies.map((a) => a.summary).join(' ')).toContain('[REDACTED:github_token]');
    for (const a of open.anomalies) await resource(`selfscope://anomalies/${a.id}`);
    const [row] = (await tool('query_runtime_logs', { kind: 'voice_error', limit: 1 })).structuredContent!['rows'] as Array<Record<string, unknown>>;
    await resource(`selfscope://logs/event/${String(row!['id'])}`);
    const [big] = (await tool('query_runtime_logs', { kind: 'sent_reply', limit: 1 })).structuredContent!['rows'] as Array<Record<string, unknown>>;
    await resource(`selfscope://logs/event/${String(big!['id'])}`);
    const completion = await client.complete({ ref: { type: 'ref/resource', uri: 'selfscope://logs/kind/{kind}' }, argument: { name: 'kind', value: '' } });
    for (const v of completion.completion.values) expect(rawUnsafeIn(v)).toBeNull();
  });

  it('the prompts: evidence only inside the block, which the log text cannot close', async () => {
    const open = (await resource('selfscope://anomalies/open')) as { anomalies: Array<{ id: string }> };
    const investigate = await prompt('investigate', { symptom: 'the music queue keeps failing' });
    expect(blocksOf(investigate)).toHaveLength(1);
    expect(investigate).toContain(INSTRUCTION);
    const fix = await prompt('fix_anomaly', { anomaly_id: open.anomalies[0]!.id });
    expect(blocksOf(fix)[0]!.body).toContain('[REDACTED:github_token]');
    await prompt('self_audit', { period: '7d' });
  });

  it('draws a new nonce for every response', () => {
    expect(seenNonces.length).toBeGreaterThan(20);
    expect(new Set(seenNonces).size).toBe(seenNonces.length);
  });

  it('does not read a symlinked log directory or file that points outside the repository, and says so', async () => {
    const outside = await tool('query_runtime_logs', { text: 'OUTSIDE_THE_REPOSITORY' });
    expect(outside.structuredContent!['total_matched']).toBe(0);
    const status = (await client.callTool({ name: 'selfscope_status', arguments: {} })) as ToolResult;
    const skipped = status.structuredContent!['log_files_skipped'] as Array<{ path: string; reason: string }>;
    expect(skipped.map((s) => s.path).sort()).toEqual(['data/logs/linked/other.ndjson', 'data/logs/other.ndjson']);
    expect(skipped.every((s) => s.reason === 'outside_repository')).toBe(true);
    expect(status.content[0]!.text).toMatch(/log files skipped: 2/);
  });
});
