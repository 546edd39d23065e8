import fs from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DuckDBConnection } from '@duckdb/node-api';
import { loadConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/core/logger.js';
import { LogIndex, READ_CHUNK } from '../../../src/core/logs/log-index.js';
import { createSqlIngest } from '../../../src/core/logs/sql-ingest.js';
import { BulkLoader } from '../../../src/core/logs/bulk-load.js';
import { schemaMappingSchema } from '../../../src/config/schema.js';

/**
 * A large read goes through DuckDB's parser (sql-ingest.ts, bulk-load.ts); the JavaScript
 * parser defines the log model. Both must give the same index for the same log, hostile
 * lines included: the same rows, the same ids, the same bad lines and counters.
 */

let dir: string;
const indexes: LogIndex[] = [];

/** threads: DuckDB's (limits.threads); a bulk load runs one lane per two of them (bulkLanes). */
async function openIndex(repo: string, bulk: boolean, lineBytes = 4096, bulkCommitBytes?: number, threads?: number): Promise<LogIndex> {
  const config = await loadConfig({ cwd: repo, env: {}, flags: { repo } });
  const index = await LogIndex.open({ repo, logs: config.logs, stateDirPath: config.stateDirPath, schema: config.schema, limits: { ...config.limits, lineBytes, threads: threads ?? config.limits.threads }, logger: silentLogger, bulk, bulkCommitBytes });
  indexes.push(index);
  return index;
}

const T0 = Date.parse('2026-03-13T14:00:00Z');
const iso = (i: number) => new Date(T0 + i * 1000).toISOString();
const ids = (i: number) => ({ guild_id: '1180000000000000001', channel_id: '1180000000000000002', message_id: String(1180000000000000000n + BigInt(i)), user_id: '1180000000000000900' });

/** Lines in the bot's shape, with every kind of line the parser treats specially among them. */
function logText(lines: number): string {
  const out: string[] = [];
  const hostile = (i: number): string[] => [
    // failures, logged twice (the second is a duplicate)
    JSON.stringify({ ts: iso(i), instance: 'default', level: 'error', kind: 'voice_error', event: 'realtime_tool_call_failed', agent: 'voice', content: 'realtime_tool_call_failed', metadata: { sessionId: `vs_${i % 7}`, callId: `call_${i}`, toolName: 'music_play', runtimeMs: 40, error: `Video v${i}x is unavailable` } }),
    JSON.stringify({ ts: iso(i), instance: 'default', level: 'error', kind: 'voice_error', event: `voice_tool_music_play_failed: Video v${i}x is unavailable`, content: `voice_tool_music_play_failed: Video v${i}x is unavailable`, metadata: { sessionId: `vs_${i % 7}` } }),
    // an info-level failure, and an error in content only
    JSON.stringify({ ts: iso(i), level: 'info', kind: 'browser_browse_failed', event: 'https://example.com', content: 'open the page', metadata: { durationMs: 12 } }),
    JSON.stringify({ ts: iso(i), level: 'warn', kind: 'text_runtime', event: 'gateway_shard_error: shard=3 Connection reset', content: 'gateway_shard_error: shard=3 Connection reset', metadata: {} }),
    // coerced and dropped fields
    JSON.stringify({ ts: iso(i), level: 5, kind: 'llm_call', event: true, agent: { a: 1 }, content: ['x'], usd_cost: '0.5', metadata: { durationMs: '120', runtimeMs: 'slow' } }),
    JSON.stringify({ ts: iso(i), kind: 'llm_call', event: 'claude-oauth:claude-sonnet-4-6', usd_cost: 1e400, metadata: { durationMs: true, latencyMs: 3 } }),
    `{"ts":"${iso(i)}","kind":"llm_call","event":"m","usd_cost":1.0,"metadata":{"durationMs":1.50,"x":1e2}}`,
    // ids that need trimming, numbers as ids, lists with duplicates, too many ids
    JSON.stringify({ ts: iso(i), kind: 'sent_reply', event: 'hi', metadata: { triggerMessageId: ' 1180000000000000101 ', triggerMessageIds: ['1180000000000000101'] } }),
    JSON.stringify({ ts: iso(i), kind: 'sent_reply', event: 'hi', metadata: { messageId: 1180000000000000101, triggerMessageIds: ['a', 'b', 'a', 7, ''] } }),
    JSON.stringify({ ts: iso(i), kind: 'sent_reply', event: 'hi', metadata: { triggerMessageId: 'm1', triggerMessageIds: ['m1', 'm2', 'm3', 'm2'] } }),
    JSON.stringify({ ts: iso(i), kind: 'sent_reply', event: 'hi', metadata: { triggerMessageIds: Array.from({ length: 90 }, (_, k) => `id${k}`) } }),
    JSON.stringify({ ts: iso(i), kind: 'sent_reply', event: 'hi', metadata: { triggerMessageIds: 'not a list' } }),
    // escapes and unicode in text, a lone surrogate, a JSON-looking string
    JSON.stringify({ ts: iso(i), kind: 'sent_reply', event: 'line\nbreak "quoted" back\\slash', content: 'é ü 日本 🎵 \u2028 tab\t', metadata: { note: '\u00e9' } }),
    `{"ts":"${iso(i)}","kind":"sent_reply","event":"lone \\ud800 surrogate","content":"x"}`,
    JSON.stringify({ ts: iso(i), kind: 'text_runtime', event: '{"looks":"like json"}', content: '[1,2]', metadata: 'a string' }),
    // times the statement leaves to the parser
    JSON.stringify({ ts: T0 + i * 1000, kind: 'text_runtime', event: 'epoch_ms' }),
    JSON.stringify({ ts: (T0 + i * 1000) / 1000, kind: 'text_runtime', event: 'epoch_s' }),
    JSON.stringify({ ts: '2026-03-13T14:00:00+02:00', kind: 'text_runtime', event: 'offset_time' }),
    JSON.stringify({ ts: '2026-03-13T14:00:00.123456Z', kind: 'text_runtime', event: 'micro_time' }),
    JSON.stringify({ ts: '2026-02-30T00:00:00Z', kind: 'text_runtime', event: 'feb_thirty' }),
    JSON.stringify({ ts: 'yesterday', kind: 'text_runtime', event: 'no_time' }),
    // deep metadata, a session length, a kind with a carriage return, tool events
    JSON.stringify({ ts: iso(i), kind: 'text_runtime', event: 'deep_one', metadata: JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)) }),
    // the depth the parser keeps, and one more, with an array and brackets in text around them
    JSON.stringify({ ts: iso(i), kind: 'text_runtime', event: 'deep_32', content: '{[{[', metadata: JSON.parse('{"a":'.repeat(31) + '[1]' + '}'.repeat(31)) }),
    JSON.stringify({ ts: iso(i), kind: 'text_runtime', event: 'deep_33', metadata: JSON.parse('{"a":'.repeat(32) + '[1]' + '}'.repeat(32)) }),
    JSON.stringify({ ts: iso(i), kind: 'text_runtime', event: 'brackets_in_text', metadata: { note: '{'.repeat(20) + '['.repeat(20) } }),
    JSON.stringify({ ts: iso(i), kind: 'voice_runtime', event: 'voice_session_ended', metadata: { durationMs: 600000, sessionId: 's1' } }),
    JSON.stringify({ ts: iso(i), kind: 'llm\r_call', event: 'x', metadata: { durationMs: 5 } }),
    JSON.stringify({ ts: iso(i), kind: 'voice_runtime', event: 'voice_tool_music_skip_completed', metadata: { durationMs: 5 } }),
    JSON.stringify({ ts: iso(i), kind: 'voice_runtime', event: 'realtime_tool_call_completed', metadata: { toolName: 'bad name!', runtimeMs: 8, performance: { totalMs: 9 } } }),
    JSON.stringify({ ts: iso(i), kind: 'text_runtime', event: 'reply_pipeline_gate', metadata: { performance: 5, totalMs: 7 } }),
    // not objects, malformed, blank lines, a CRLF line, leading whitespace
    '[1,2,3]',
    'null',
    '{"ts": "2026-03-13T14:00:00Z", "kind": ',
    '',
    '\r',
    `${JSON.stringify({ ts: iso(i), kind: 'text_runtime', event: 'crlf_line' })}\r`,
    `   ${JSON.stringify({ ts: iso(i), kind: 'text_runtime', event: 'indented' })}`,
    // longer than lineBytes (4096): stored cut
    JSON.stringify({ ts: iso(i), kind: 'llm_call', event: 'big', content: 'x'.repeat(6000), metadata: { prompt: 'y'.repeat(5000), durationMs: 4 } }),
  ];
  for (let i = 0; out.length < lines; i++) {
    if (i % 500 === 250) out.push(...hostile(i));
    out.push(
      JSON.stringify({ ts: iso(i), instance: 'default', source: 'store_action', ...ids(i), usd_cost: i % 3 === 0 ? 0.0123 : 0, level: 'info', kind: 'llm_call', event: 'claude-oauth:claude-sonnet-4-6', agent: 'runtime', content: 'claude-oauth:claude-sonnet-4-6', metadata: { provider: 'claude-oauth', model: 'claude-sonnet-4-6', usage: { inputTokens: 2000 + i, outputTokens: 90 }, durationMs: 1000 + (i % 977), messageId: String(1180000000000000000n + BigInt(i)) } }),
      JSON.stringify({ ts: iso(i), instance: 'default', source: 'store_action', ...ids(i), usd_cost: 0, level: 'info', kind: 'voice_runtime', event: 'realtime_tool_call_completed', agent: 'voice', content: 'realtime_tool_call_completed', metadata: { sessionId: `vs_${i % 7}`, callId: `call_${i}`, toolName: ['music_play', 'web_search', 'memory_lookup'][i % 3], runtimeMs: 100 + (i % 300), outputSummary: 'done '.repeat(i % 40), error: null } }),
      JSON.stringify({ ts: iso(i), instance: 'default', source: 'store_action', ...ids(i), usd_cost: 0, level: 'info', kind: 'sent_reply', event: `reply number ${i}: sure!`, agent: 'runtime', content: `reply number ${i}: sure!`, metadata: { triggerMessageId: String(1180000000000000000n + BigInt(i)), triggerMessageIds: [String(1180000000000000000n + BigInt(i)), String(1180000000000000001n + BigInt(i))], performance: { totalMs: 3000 + i % 50 } } }),
    );
  }
  return `${out.join('\n')}\n`;
}

async function rows(index: LogIndex): Promise<Record<string, unknown>[]> {
  const all = await index.all('SELECT * FROM logs ORDER BY file, "offset"');
  // Ids differ only by the stream part (the file's identity); the offset part must match.
  return all.map((r) => ({ ...r, id: String(r['id']).split(':')[1], metadata: r['metadata'] === null ? null : JSON.parse(String(r['metadata'])) }));
}

beforeEach(async () => {
  dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-bulk-')));
});
afterEach(async () => {
  for (const index of indexes.splice(0)) await index.close();
  await fs.rm(dir, { recursive: true, force: true });
});

async function twoRepos(text: string | Buffer): Promise<[string, string]> {
  const repos: [string, string] = [path.join(dir, 'bulk'), path.join(dir, 'parser')];
  for (const repo of repos) {
    await fs.mkdir(path.join(repo, 'data', 'logs'), { recursive: true });
    await fs.writeFile(path.join(repo, 'data', 'logs', 'runtime-actions.ndjson'), text);
  }
  return repos;
}

/** Refreshes `bulk` with the `failAt`-th block handed to DuckDB failing; returns the stats and how many blocks were handed over. */
async function refreshFailingAt(bulk: LogIndex, failAt: number) {
  const push = BulkLoader.prototype.push;
  let calls = 0;
  const spy = vi.spyOn(BulkLoader.prototype, 'push').mockImplementation(function (this: BulkLoader, ...args: Parameters<BulkLoader['push']>) {
    return ++calls === failAt ? Promise.reject(new Error('out of memory')) : push.apply(this, args);
  });
  try {
    return { stats: await bulk.refresh(), calls };
  } finally {
    spy.mockRestore();
  }
}

/** DuckDB's threads as the index's queries run them. */
async function threadsOf(index: LogIndex): Promise<number> {
  const [row] = await index.all<{ t: unknown }>(`SELECT current_setting('threads') AS t`);
  return Number(row!.t);
}

/** The same rows, health and freshness in both indexes. */
async function expectSameIndex(bulk: LogIndex, parser: LogIndex): Promise<void> {
  expect(await rows(bulk)).toEqual(await rows(parser));
  const health = (index: LogIndex) => index.health().map(({ stream_id: _, ...h }) => h);
  expect(health(bulk)).toEqual(health(parser));
  expect(bulk.freshness()).toMatchObject({ events: parser.freshness().events, newest_event: parser.freshness().newest_event });
}

describe('bulk ingest through DuckDB', () => {
  it.each([1, 2])('gives the index the parser gives, row for row, over blocks and hostile lines (%i lanes)', async (lanes) => {
    const text = logText(19_000); // ~10 MB: several blocks, on every lane
    expect(Buffer.byteLength(text)).toBeGreaterThan(4 * READ_CHUNK);
    const [bulkRepo, parserRepo] = await twoRepos(text);
    const bulk = await openIndex(bulkRepo, true, 4096, undefined, 2 * lanes);
    const parser = await openIndex(parserRepo, false);
    const stats = await bulk.refresh();
    expect((bulk as unknown as { bulkConns: unknown[] }).bulkConns).toHaveLength(lanes);
    expect(stats.bulk_events).toBeGreaterThan(0.9 * stats.new_events); // DuckDB read the ordinary lines
    expect((await parser.refresh()).bulk_events).toBe(0);
    const [a, b] = [await rows(bulk), await rows(parser)];
    expect(a.length).toBe(b.length);
    expect(a.length).toBeGreaterThan(13_000);
    for (let i = 0; i < a.length; i++) expect(a[i], `row ${i} at offset ${String(b[i]!['offset'])}`).toEqual(b[i]);
    const health = (index: LogIndex) => index.health().map(({ stream_id: _, ...h }) => h);
    expect(health(bulk)).toEqual(health(parser));
    // The hostile lines were there: every kind of bad line, cut and coerced lines, duplicates.
    const [h] = health(bulk);
    expect(h!.bad_by_reason).toMatchObject({ malformed_json: expect.any(Number), not_an_object: expect.any(Number), no_time: expect.any(Number) });
    expect(h!.cut_lines).toBeGreaterThan(0);
    expect(h!.coerced_lines).toBeGreaterThan(0);
    expect(a.filter((r) => r['duplicate']).length).toBeGreaterThan(0);
    expect(bulk.freshness().newest_event).toBe(parser.freshness().newest_event);
    expect(bulk.freshness().events).toBe(parser.freshness().events);
  }, 120_000);

  it('reads a block holding a NUL byte or invalid UTF-8 line by line, and keeps the rest', async () => {
    const good = logText(19_000);
    const cut = good.indexOf('\n', READ_CHUNK + 1024) + 1; // in the second block
    const text = Buffer.concat([Buffer.from(good.slice(0, cut)), Buffer.from('{"ts":"2026-03-13T14:00:00Z","kind":"a\u0000b"}\n'), Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), Buffer.from(good.slice(cut))]);
    const [bulkRepo, parserRepo] = await twoRepos(text);
    const bulk = await openIndex(bulkRepo, true);
    const parser = await openIndex(parserRepo, false);
    expect((await bulk.refresh()).bulk_events).toBeGreaterThan(0);
    expect(await rows(bulk)).toEqual(await rows(parser));
    expect(bulk.health()[0]!.bad_by_reason).toMatchObject({ nul_byte: 1, invalid_utf8: 1 });
  }, 120_000);

  it('leaves a torn last line for later and reads the rest of a large append the same way', async () => {
    const text = logText(3_000);
    const [bulkRepo] = await twoRepos(text);
    const file = path.join(bulkRepo, 'data', 'logs', 'runtime-actions.ndjson');
    const index = await openIndex(bulkRepo, true);
    await index.refresh();
    const before = index.freshness().events;
    expect(before).toBeGreaterThan(2_900);
    const more = logText(3_000).replace(/2026-03-13/g, '2026-03-14');
    await fs.appendFile(file, more.slice(0, -40)); // over 1 MB: a bulk read, its last line torn
    expect((await index.refresh()).bulk_events).toBeGreaterThan(2_000);
    const torn = index.health()[0]!;
    expect(torn.bytes_read).toBe(Buffer.byteLength(text) + Buffer.byteLength(more.slice(0, more.lastIndexOf('\n', more.length - 41) + 1)));
    await fs.appendFile(file, more.slice(-40));
    await index.refresh();
    expect(index.health()[0]!.bytes_read).toBe(Buffer.byteLength(text) + Buffer.byteLength(more));
    expect(index.freshness().events).toBe(2 * before);
    const ids = await index.all<{ n: number; d: number }>('SELECT count(*) AS n, count(DISTINCT id) AS d FROM logs');
    expect(ids[0]!.n).toBe(ids[0]!.d);
  }, 120_000);

  it('rolls a failed bulk load back and reads the same range line by line: nothing lost, nothing twice', async () => {
    const good = logText(19_000);
    const cut = good.indexOf('\n', READ_CHUNK / 2) + 1;
    // A NUL byte in the first block (read here), the second in flight in DuckDB when loading the third fails:
    // the second is rolled back, and both are read again line by line from the end of the first.
    const text = `${good.slice(0, cut)}{"ts":"2026-03-13T14:00:00Z","kind":"a\u0000b"}\n${good.slice(cut)}`;
    const [bulkRepo, parserRepo] = await twoRepos(text);
    const bulk = await openIndex(bulkRepo, true);
    const parser = await openIndex(parserRepo, false);
    const { stats, calls } = await refreshFailingAt(bulk, 2);
    expect(calls).toBe(2); // after the failure, this process reads line by line
    expect(stats.bulk_events).toBe(0); // what DuckDB had loaded was rolled back
    expect(stats.new_events).toBe((await parser.refresh()).new_events);
    await expectSameIndex(bulk, parser);
  }, 120_000);

  it('keeps what a bulk load committed before a failure and reads only the rest line by line', async () => {
    const text = logText(19_000);
    expect(Buffer.byteLength(text)).toBeGreaterThan(4 * READ_CHUNK);
    const [bulkRepo, parserRepo] = await twoRepos(text);
    const bulk = await openIndex(bulkRepo, true, 4096, 1); // a commit after every block
    const parser = await openIndex(parserRepo, false);
    const { stats, calls } = await refreshFailingAt(bulk, 3);
    expect(calls).toBe(3);
    expect(stats.bulk_events).toBeGreaterThan(0); // the first blocks were committed, and stay
    expect(stats.bulk_events).toBeLessThan(stats.new_events);
    expect(stats.new_events).toBe((await parser.refresh()).new_events);
    await expectSameIndex(bulk, parser);
  }, 120_000);

  it('takes back what a commit wrote before it failed, and reads it again line by line', async () => {
    const text = logText(19_000);
    const [bulkRepo, parserRepo] = await twoRepos(text);
    const bulk = await openIndex(bulkRepo, true, 4096, 1, 4); // a commit after every block, on two lanes
    const parser = await openIndex(parserRepo, false);
    const commit = BulkLoader.prototype.commit;
    let commits = 0;
    // The third commit writes its rows, then fails (as when the second lane's COMMIT fails after the first's).
    const spy = vi.spyOn(BulkLoader.prototype, 'commit').mockImplementation(async function (this: BulkLoader) {
      await commit.apply(this);
      if (++commits === 3) throw new Error('disk full');
    });
    try {
      const stats = await bulk.refresh();
      expect(commits).toBe(3); // after the failure, this process reads line by line
      expect(stats.new_events).toBe((await parser.refresh()).new_events);
    } finally {
      spy.mockRestore();
    }
    await expectSameIndex(bulk, parser);
  }, 120_000);

  it('after a process died mid-load, reads again what it had committed but not recorded: nothing twice', async () => {
    const text = logText(19_000);
    expect(Buffer.byteLength(text)).toBeGreaterThan(4 * READ_CHUNK);
    const [bulkRepo, parserRepo] = await twoRepos(text);
    const { execa } = await import('execa');
    const child = await execa(process.execPath, [path.resolve('test/helpers/interrupt-index.mjs'), bulkRepo, '4096'], { reject: false, timeout: 120_000 });
    expect(child.signal).toBe('SIGKILL'); // killed after two commits, before the end
    // The dead process left rows in the index file and no record of where it stopped.
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const file = path.join(bulkRepo, '.selfscope', 'index.duckdb');
    const raw = await DuckDBInstance.create(file);
    const conn = await raw.connect();
    const left = Number((await conn.runAndReadAll('SELECT count(*) FROM events')).getRowsJS()[0]![0]);
    const saved = Number((await conn.runAndReadAll('SELECT count(*) FROM streams')).getRowsJS()[0]![0]);
    conn.closeSync();
    raw.closeSync();
    expect(left).toBeGreaterThan(0);
    expect(saved).toBe(0);
    const bulk = await openIndex(bulkRepo, true);
    const parser = await openIndex(parserRepo, false);
    await bulk.refresh();
    await parser.refresh();
    await expectSameIndex(bulk, parser);
  }, 120_000);

  it.each([
    [2, 1],
    [4, 2],
  ])('runs DuckDB on one thread per lane while it loads, and gives its %i threads back after (%i lanes)', async (threads, lanes) => {
    const text = logText(8_000); // several blocks
    expect(Buffer.byteLength(text)).toBeGreaterThan(2 * READ_CHUNK);
    const [bulkRepo] = await twoRepos(text);
    const bulk = await openIndex(bulkRepo, true, 4096, undefined, threads);
    const push = BulkLoader.prototype.push;
    const during: number[] = [];
    const spy = vi.spyOn(BulkLoader.prototype, 'push').mockImplementation(async function (this: BulkLoader, ...args: Parameters<BulkLoader['push']>) {
      await push.apply(this, args);
      const conn = (this as unknown as { lanes: { conn: DuckDBConnection }[] }).lanes[0]!.conn;
      during.push(Number((await conn.runAndReadAll(`SELECT current_setting('threads')`)).getRowsJS()[0]![0]));
    });
    try {
      expect((await bulk.refresh()).bulk_events).toBeGreaterThan(0);
    } finally {
      spy.mockRestore();
    }
    expect(during.length).toBeGreaterThan(1);
    expect(new Set(during)).toEqual(new Set([lanes]));
    expect(await threadsOf(bulk)).toBe(threads);
  }, 120_000);

  it('gives DuckDB its threads back when a bulk load fails', async () => {
    const [bulkRepo] = await twoRepos(logText(8_000));
    const bulk = await openIndex(bulkRepo, true, 4096, undefined, 2);
    const { calls } = await refreshFailingAt(bulk, 2); // the first block narrowed DuckDB, the second failed
    expect(calls).toBe(2);
    expect(await threadsOf(bulk)).toBe(2);
  }, 120_000);

  it('is not used for a mapping whose paths it cannot express; the parser reads those logs', () => {
    const schema = schemaMappingSchema.parse({});
    expect(createSqlIngest(schema, 4096)).not.toBeNull();
    expect(createSqlIngest(schemaMappingSchema.parse({ time: 'meta.time' }), 4096)).toBeNull(); // nested outside metadata
    expect(createSqlIngest(schemaMappingSchema.parse({ kind: "it's" }), 4096)).toBeNull(); // a key it would have to escape
    expect(createSqlIngest(schemaMappingSchema.parse({ metadata: 'a.b' }), 4096)).toBeNull();
  });
});
