import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/core/logger.js';
import { LogIndex } from '../../../src/core/logs/log-index.js';
import { aggregate, queryEvents, timeline } from '../../../src/core/logs/query.js';

/**
 * The bot's real lines (test/fixtures/clanky-runtime-actions.ndjson, written by its own
 * logger: see make-clanky-runtime-actions.mjs) read with zero configuration.
 */
const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/clanky-runtime-actions.ndjson');
const M1 = '1180000000000000101';
const [M2, M4] = ['1180000000000000102', '1180000000000000104'];
const REPLY_2 = '1180000000000000202';
const SESSION = 'b3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const BOUNDS = { fieldBytes: 4096, maxBytes: 1_000_000 };

let dir: string;
let index: LogIndex;
type Row = Record<string, unknown>;
const rows = (sql: string, params: unknown[] = []) => index.all<Row>(sql, params);
const one = async (sql: string, params: unknown[] = []) => (await rows(sql, params))[0]!;

beforeAll(async () => {
  dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-clanky-')));
  await fs.mkdir(path.join(dir, 'data', 'logs'), { recursive: true });
  await fs.copyFile(FIXTURE, path.join(dir, 'data', 'logs', 'runtime-actions.ndjson'));
  const config = await loadConfig({ cwd: dir, env: {}, flags: { repo: dir } });
  index = await LogIndex.open({ repo: dir, logs: config.logs, stateDirPath: config.stateDirPath, schema: config.schema, limits: config.limits, logger: silentLogger });
});
afterAll(async () => {
  await index?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('the bot logger\'s lines, zero configuration', () => {
  it('reads every line', async () => {
    const lines = (await fs.readFile(FIXTURE, 'utf8')).split('\n').filter(Boolean).length;
    expect(await one('SELECT count(*) AS n FROM logs')).toEqual({ n: lines });
  });

  it('finds the message of every failure: metadata.error (string or Error object), errorMessage, or the text after the event name', async () => {
    expect(await one('SELECT count(*) AS n FROM logs WHERE is_failure AND error IS NULL')).toEqual({ n: 0 });
    const errorOf = async (event: string) => (await one('SELECT error FROM logs WHERE event = ? LIMIT 1', [event]))['error'];
    expect(await errorOf('voice_tool_music_play_failed: Video unavailable')).toBe('Video unavailable');
    expect(await errorOf('gateway_shard_error: shard=3 Connection reset by peer')).toBe('shard=3 Connection reset by peer');
    expect(await errorOf('slash_command_browse_error_reply_failed')).toBe('Unknown interaction');
    expect(await errorOf('shutdown_drain_memory_queue_failed')).toBe('Queue drain timed out after 5000ms');
    expect(await one(`SELECT error FROM logs WHERE kind = 'browser_browse_failed'`)).toEqual({ error: 'Navigation timeout of 30000 ms exceeded' });
    const llm = await one(`SELECT error, content FROM logs WHERE kind = 'llm_error' ORDER BY ts LIMIT 1`);
    expect(llm['error']).toBe(llm['content']);
    // Successes carry no error even where content has a name and text.
    expect(await one('SELECT count(*) AS n FROM logs WHERE NOT is_failure AND error IS NOT NULL')).toEqual({ n: 0 });
  });

  it('counts a failure logged at level info (browser_browse_failed) as a failure', async () => {
    expect(await one(`SELECT level, is_failure FROM logs WHERE kind = 'browser_browse_failed'`)).toEqual({ level: 'info', is_failure: true });
  });

  it('has instance as a column, filterable and groupable', async () => {
    expect(await rows('SELECT instance, count(*) AS n FROM logs GROUP BY instance ORDER BY instance')).toEqual([
      { instance: 'clanky-eu', n: 4 },
      { instance: 'default', n: 43 },
    ]);
    const eu = await queryEvents(index, { filters: { instance: 'clanky-eu' }, fields: ['instance', 'operation'], limit: 50 }, BOUNDS);
    expect(eu.total_matched).toBe(4);
    expect(eu.rows.every((r) => r['instance'] === 'clanky-eu')).toBe(true);
    const grouped = await aggregate(index, { filters: { errors_only: true }, group_by: ['instance'], metrics: ['count', 'errors'], limit: 10 }, BOUNDS);
    expect(grouped.rows).toEqual(
      expect.arrayContaining([
        { instance: 'clanky-eu', count: 3, errors: 2 },
        { instance: 'default', count: 27, errors: 26 },
      ]),
    );
  });

  it("joins a text turn's LLM call and its cost through metadata.messageId", async () => {
    const turn = await timeline(index, 'message_id', M1, { ...BOUNDS, maxEvents: 50 });
    expect(turn.events.map((e) => e['kind'])).toEqual(['text_runtime', 'llm_call', 'sent_reply']);
    expect(turn.totals.cost_usd).toBe(0.0123);
    expect(await one(`SELECT trigger_message_id, trigger_message_ids FROM logs WHERE kind = 'llm_call' ORDER BY ts LIMIT 1`)).toEqual({ trigger_message_id: M1, trigger_message_ids: null });
  });

  it('finds a coalesced turn from any of its messages (triggerMessageIds), or from the reply', async () => {
    for (const id of [M2, M4, REPLY_2]) {
      const turn = await timeline(index, 'message_id', id, { ...BOUNDS, maxEvents: 50 });
      expect(turn.events.map((e) => e['kind']), id).toEqual(['text_runtime', 'llm_call', 'sent_reply']);
      expect(turn.totals.cost_usd, id).toBe(0.0087);
    }
    expect(await one(`SELECT trigger_message_ids FROM logs WHERE message_id = ?`, [REPLY_2])).toEqual({ trigger_message_ids: [M4, M2, '1180000000000000103'] });
  });

  it('keeps a voice LLM call in its session timeline', async () => {
    const session = await timeline(index, 'session_id', SESSION, { ...BOUNDS, maxEvents: 50 });
    expect(session.events.map((e) => e['kind'])).toContain('llm_call');
    expect(session.totals.cost_usd).toBe(0.0042);
    // The music_play failure logged twice is one error of the session.
    expect(session.totals.errors).toBe(session.events.filter((e) => e['error'] !== null).length - 1);
  });

  it('reads latency per kind: a session length or an utterance length is not a latency, and stays in metadata', async () => {
    const latency = async (event: string) => (await one('SELECT latency_ms FROM logs WHERE event = ? LIMIT 1', [event]))['latency_ms'];
    expect(await latency('voice_session_ended')).toBeNull();
    expect(await latency('voice_turn_finalized')).toBeNull();
    expect(await latency('manual_leave')).toBeNull();
    expect(await one(`SELECT json_extract(metadata, '$.durationMs')::INTEGER AS d FROM logs WHERE event = 'voice_session_ended'`)).toEqual({ d: 140000 });
    expect(await latency('voice_music_search_complete')).toBe(540);
    expect(await latency('realtime_tool_call_completed')).toBe(412);
    expect(await one(`SELECT latency_ms FROM logs WHERE kind = 'sent_reply' LIMIT 1`)).toEqual({ latency_ms: 3010 });
    expect(await one(`SELECT count(latency_ms) AS n FROM logs WHERE kind = 'llm_call'`)).toEqual({ n: 0 });
  });

  it('names operations without free text, one for a success and its failure', async () => {
    const ops = (await rows('SELECT DISTINCT operation FROM logs ORDER BY operation')).map((r) => r['operation']);
    expect(ops).toEqual([
      'browser_browse',
      'gateway_shard',
      'llm',
      'memory_text_reply_ingest',
      'realtime_generation',
      'realtime_turn',
      'reply_pipeline_gate',
      'search',
      'sent_reply',
      'shutdown_drain_memory_queue',
      'slash_command_browse_error_reply',
      'tool:music_play',
      'tool:video_play',
      'tool:web_search',
      'voice_music_search',
      'voice_session_end',
      'voice_session_ended',
      'voice_turn_finalized',
    ]);
    const byEvent = await rows(`SELECT DISTINCT kind, event, tool_name FROM logs WHERE operation = 'tool:music_play' ORDER BY event`);
    expect(byEvent.map((r) => r['event'])).toEqual(['realtime_tool_call_completed', 'realtime_tool_call_failed', 'voice_tool_music_play_failed: Video unavailable']);
    expect(byEvent.every((r) => r['tool_name'] === 'music_play')).toBe(true);
    expect(await rows(`SELECT DISTINCT kind FROM logs WHERE operation = 'llm' ORDER BY kind`)).toEqual([{ kind: 'llm_call' }, { kind: 'llm_error' }]);
    expect(await rows(`SELECT DISTINCT kind FROM logs WHERE operation = 'browser_browse' ORDER BY kind`)).toEqual([{ kind: 'browser_browse_call' }, { kind: 'browser_browse_failed' }]);
    const search = await aggregate(index, { filters: { operation: 'search' }, group_by: ['operation'], metrics: ['count', 'errors', 'p50'], limit: 10 }, BOUNDS);
    expect(search.rows).toEqual([{ operation: 'search', count: 4, errors: 1, p50_ms: 640 }]);
  });

  it('fingerprints failures with ids replaced, and status codes, models and property names kept', async () => {
    const fps = async (where: string) => (await rows(`SELECT DISTINCT fingerprint FROM logs WHERE ${where} ORDER BY 1`)).map((r) => String(r['fingerprint']));
    // Session ids (vs_935027_e2ss), across instances: one error.
    expect(await fps(`operation = 'realtime_turn'`)).toEqual(['realtime_turn_failed: Session vs_<id> not found']);
    expect(await fps(`operation = 'tool:video_play'`)).toEqual(['voice_tool_video_play_failed: Video <id> is unavailable']);
    expect(await fps(`operation = 'realtime_generation'`)).toEqual(['realtime_generation_failed: Request req_<id> failed with status 500']);
    expect(await fps(`operation = 'gateway_shard'`)).toEqual(['gateway_shard_error: shard=<n> Connection reset by peer']);
    const llm = await fps(`kind = 'llm_error'`);
    expect(llm).toHaveLength(3); // Anthropic 429 (three request ids), Anthropic 500, OpenAI 429 (two)
    expect(llm.filter((f) => f.includes('429'))).toHaveLength(2);
    expect(llm.some((f) => f.startsWith('llm_error: 500 api_error'))).toBe(true);
    expect(llm.some((f) => f.includes('gpt-4o'))).toBe(true);
    expect(llm.join('\n')).not.toMatch(/req_011|AbC123/);
    expect(await fps(`operation = 'memory_text_reply_ingest'`)).toEqual([
      "memory_text_reply_ingest: Cannot read properties of undefined (reading 'content')",
      "memory_text_reply_ingest: Cannot read properties of undefined (reading 'length')",
    ]);
    // Only failures have one; a free-text failure's starts with its kind, never its text.
    expect(await one(`SELECT count(*) AS n FROM logs WHERE NOT is_failure AND fingerprint <> ''`)).toEqual({ n: 0 });
    expect(await fps(`kind = 'browser_browse_failed'`)).toEqual(['browser_browse_failed: Navigation timeout of <dur> exceeded']);
    // A readable example beside each template.
    const sample = await rows(`SELECT fingerprint, any_value(error) AS example FROM logs WHERE operation = 'realtime_turn' GROUP BY fingerprint`);
    expect(String(sample[0]!['example'])).toMatch(/^Session vs_\d+_[a-z0-9]+ not found$/);
  });

  it('counts one failure logged twice once', async () => {
    const dups = await rows('SELECT instance, event, session_id FROM logs WHERE duplicate ORDER BY ts');
    expect(dups).toEqual([
      { instance: 'default', event: 'voice_tool_music_play_failed: Video unavailable', session_id: SESSION },
      { instance: 'clanky-eu', event: 'voice_tool_music_play_failed: Video unavailable', session_id: '7c0d9e8f-1a2b-4c3d-9e4f-5a6b7c8d9e0f' },
    ]);
    // The second call of the same tool that failed 3 s later is a failure of its own.
    expect(await one(`SELECT duplicate FROM logs WHERE call_id = 'call_Wq3eR5tY7uI9'`)).toEqual({ duplicate: false });
    const music = await aggregate(index, { filters: { operation: 'tool:music_play' }, group_by: ['operation'], metrics: ['count', 'errors', 'error_rate'], limit: 10 }, BOUNDS);
    // 6 lines: 1 success, 3 failed calls, 2 second loggings of a failure.
    expect(music.rows).toEqual([{ operation: 'tool:music_play', count: 6, errors: 3, error_rate: 0.75 }]);
  });
});
