import fs from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/core/logger.js';
import { LogIndex } from '../../../src/core/logs/log-index.js';
import { logLine, series } from '../../helpers/log-lines.js';

let dir: string;
let logDir: string;
const indexes: LogIndex[] = [];

async function openIndex(overrides: { lineBytes?: number; queryTimeoutMs?: number } = {}): Promise<LogIndex> {
  const config = await loadConfig({ cwd: dir, env: {}, flags: { repo: dir } });
  const index = await LogIndex.open({
    repo: dir,
    logs: config.logs,
    stateDirPath: config.stateDirPath,
    schema: config.schema,
    limits: { ...config.limits, ...overrides },
    logger: silentLogger,
  });
  indexes.push(index);
  return index;
}

async function count(index: LogIndex, where = ''): Promise<number> {
  const rows = await index.all<{ n: number }>(`SELECT count(*) AS n FROM logs ${where}`);
  return rows[0]!.n;
}

const T0 = Date.parse('2026-03-13T14:00:00Z');
const line = (i: number, extra: Partial<Parameters<typeof logLine>[0]> = {}) => logLine({ ts: new Date(T0 + i * 1000), metadata: { callId: `call_${i}`, runtimeMs: i }, ...extra });

beforeEach(async () => {
  dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-logs-')));
  logDir = path.join(dir, 'data', 'logs');
  await fs.mkdir(logDir, { recursive: true });
});
afterEach(async () => {
  for (const index of indexes.splice(0)) await index.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('incremental ingest', () => {
  it('reads only what was appended, and a torn last line waits for its newline', async () => {
    const file = path.join(logDir, 'a.ndjson');
    await fs.writeFile(file, `${line(0)}\n${line(1)}\n`);
    const index = await openIndex();
    expect(await count(index)).toBe(2);
    const third = line(2);
    await fs.appendFile(file, third.slice(0, 40));
    expect(await count(index)).toBe(2);
    await fs.appendFile(file, `${third.slice(40)}\n`);
    expect(await count(index)).toBe(3);
    const stats = await index.refresh();
    expect(stats.new_events).toBe(0);
    expect(index.health()[0]).toMatchObject({ lines: 3, bad_lines: 0 });
  });

  it('keeps its place across a restart (no duplicates)', async () => {
    const file = path.join(logDir, 'a.ndjson');
    await fs.writeFile(file, `${line(0)}\n${line(1)}\n`);
    let index = await openIndex();
    expect(await count(index)).toBe(2);
    await index.close();
    indexes.pop();
    await fs.appendFile(file, `${line(2)}\n`);
    index = await openIndex();
    expect(await count(index)).toBe(3);
    expect(await count(index, "WHERE call_id = 'call_2'")).toBe(1);
  });

  it('follows rotation by rename without losing or repeating a line', async () => {
    const file = path.join(logDir, 'a.ndjson');
    await fs.writeFile(file, `${line(0)}\n${line(1)}\n`);
    const index = await openIndex();
    expect(await count(index)).toBe(2);
    await fs.appendFile(file, `${line(2)}\n`); // written just before rotation, not read yet
    await fs.rename(file, path.join(dir, 'data', 'a.ndjson.1')); // out of the glob
    await fs.writeFile(file, `${line(3)}\n`);
    expect(await count(index)).toBe(4);
    const ids = await index.all<{ call_id: string }>('SELECT call_id FROM logs ORDER BY ts');
    expect(ids.map((r) => r.call_id)).toEqual(['call_0', 'call_1', 'call_2', 'call_3']);
  });

  it('follows rotation by copy-truncate without losing or repeating a line', async () => {
    const file = path.join(logDir, 'a.ndjson');
    await fs.writeFile(file, `${line(0)}\n${line(1)}\n`);
    const index = await openIndex();
    expect(await count(index)).toBe(2);
    await fs.appendFile(file, `${line(2)}\n`);
    // logrotate copytruncate: copy (inside the glob here), then truncate in place.
    await fs.copyFile(file, path.join(logDir, 'a.1.ndjson'));
    await fs.truncate(file, 0);
    await fs.appendFile(file, `${line(3)}\n`);
    expect(await count(index)).toBe(4);
    const ids = await index.all<{ call_id: string }>('SELECT call_id FROM logs ORDER BY ts');
    expect(ids.map((r) => r.call_id)).toEqual(['call_0', 'call_1', 'call_2', 'call_3']);
  });

  it('reads the unread tail from a copy outside the globs before the truncated file (copytruncate to .ndjson.1)', async () => {
    const file = path.join(logDir, 'runtime-actions.ndjson');
    await fs.writeFile(file, `${line(0)}\n${line(1)}\n`);
    const index = await openIndex();
    expect(await count(index)).toBe(2);
    // Written after the last refresh, before the rotation; the last one torn by it.
    await fs.appendFile(file, `${line(2)}\n${line(3)}\n${line(4).slice(0, 30)}`);
    await fs.copyFile(file, `${file}.1`); // logrotate's default name: not matched by data/logs/*.ndjson
    await fs.truncate(file, 0);
    await fs.appendFile(file, `${line(5)}\n`);
    expect(await count(index)).toBe(5);
    const ids = await index.all<{ call_id: string; file: string }>('SELECT call_id, file FROM logs ORDER BY ts');
    expect(ids.map((r) => r.call_id)).toEqual(['call_0', 'call_1', 'call_2', 'call_3', 'call_5']);
    expect(ids.find((r) => r.call_id === 'call_3')!.file).toBe('data/logs/runtime-actions.ndjson.1');
    // Nothing is read twice on later refreshes, and the rotated copy is a finished stream.
    await fs.appendFile(file, `${line(6)}\n`);
    expect(await count(index)).toBe(6);
    expect(await count(index, 'HAVING count(DISTINCT id) = count(*)')).toBe(6);
    expect(index.health().filter((h) => h.live).map((h) => h.path)).toEqual(['data/logs/runtime-actions.ndjson']);
  });

  it('reads the unread tail from the copy when the rotation happened while no process was reading', async () => {
    const file = path.join(logDir, 'runtime-actions.ndjson');
    await fs.writeFile(file, `${line(0)}\n${line(1)}\n`);
    let index = await openIndex();
    expect(await count(index)).toBe(2);
    await index.close();
    indexes.pop();
    await fs.appendFile(file, `${line(2)}\n`);
    await fs.copyFile(file, `${file}.1`);
    await fs.truncate(file, 0);
    // Written past the old offset again: only the first line says it is another file.
    await fs.appendFile(file, `${[3, 4, 5, 6].map((i) => line(i)).join('\n')}\n`);
    index = await openIndex();
    const ids = await index.all<{ call_id: string }>('SELECT call_id FROM logs ORDER BY ts');
    expect(ids.map((r) => r.call_id)).toEqual(['call_0', 'call_1', 'call_2', 'call_3', 'call_4', 'call_5', 'call_6']);
  });

  it('reads the unread tail of a file renamed out of the globs while no process was reading', async () => {
    const file = path.join(logDir, 'runtime-actions.ndjson');
    await fs.writeFile(file, `${line(0)}\n`);
    let index = await openIndex();
    expect(await count(index)).toBe(1);
    await index.close();
    indexes.pop();
    await fs.appendFile(file, `${line(1)}\n`);
    await fs.rename(file, `${file}.1`);
    await fs.writeFile(file, `${line(2)}\n`);
    index = await openIndex();
    const ids = await index.all<{ call_id: string }>('SELECT call_id FROM logs ORDER BY ts');
    expect(ids.map((r) => r.call_id)).toEqual(['call_0', 'call_1', 'call_2']);
  });

  it('reads several files (shards) appended to at once', async () => {
    const a = path.join(logDir, 'shard-a.ndjson');
    const b = path.join(logDir, 'shard-b.ndjson');
    await Promise.all([fs.writeFile(a, ''), fs.writeFile(b, '')]);
    const index = await openIndex();
    for (let i = 0; i < 50; i++) {
      await Promise.all([fs.appendFile(a, `${line(i * 2, { agent: 'a' })}\n`), fs.appendFile(b, `${line(i * 2 + 1, { agent: 'b' })}\n`)]);
      if (i % 10 === 0) await index.refresh();
    }
    expect(await count(index, "WHERE agent = 'a'")).toBe(50);
    expect(await count(index, "WHERE agent = 'b'")).toBe(50);
    expect(await count(index)).toBe(100);
  });
});

describe('bad lines', () => {
  it('counts every kind of bad line with its offset and keeps the good ones', async () => {
    const file = path.join(logDir, 'a.ndjson');
    const good = line(0);
    const parts = [
      Buffer.from(`${good}\n`),
      Buffer.from('{"ts": "2026-03-13T14:00:01Z", "kind": \n'), // malformed
      Buffer.concat([Buffer.from('{"ts":"2026-03-13T14:00:02Z","kind":"x","content":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]), // invalid UTF-8
      Buffer.from('{"ts":"2026-03-13T14:00:03Z","kind":"x\u0000y"}\n'.replace('\\u0000', '\u0000')), // NUL
      Buffer.from('[1,2,3]\n'), // not an object
      Buffer.from('{"kind":"no time"}\n'),
      Buffer.from(`${line(7)}\n`),
    ];
    await fs.writeFile(file, Buffer.concat(parts));
    const index = await openIndex();
    expect(await count(index)).toBe(2);
    const health = index.health()[0]!;
    expect(health.bad_lines).toBe(5);
    expect(health.bad_by_reason).toEqual({ malformed_json: 1, invalid_utf8: 1, nul_byte: 1, not_an_object: 1, no_time: 1 });
    expect(health.first_bad_offsets[0]).toBe(parts[0]!.length);
    // No empty rows were made of them.
    expect(await count(index, 'WHERE kind IS NULL OR event IS NULL')).toBe(0);
  });

  it('stores a 10 MiB line cut, marked, with its hot fields whole', async () => {
    const file = path.join(logDir, 'a.ndjson');
    const huge = logLine({ ts: new Date(T0), kind: 'llm_call', event: 'claude:big', content: 'x'.repeat(10 * 1024 * 1024), metadata: { durationMs: 1234, error: 'boom', replyPrompts: { systemPrompt: 'y'.repeat(200_000) } } });
    await fs.writeFile(file, `${huge}\n${line(1)}\n`);
    const index = await openIndex();
    const rows = await index.all<{ cut: boolean; latency_ms: number; error: string; len: number; meta_ok: boolean }>(
      "SELECT cut, latency_ms, error, length(content) AS len, json_valid(metadata) AS meta_ok FROM logs WHERE event = 'claude:big'",
    );
    expect(rows).toEqual([{ cut: true, latency_ms: 1234, error: 'boom', len: expect.any(Number), meta_ok: true }]);
    expect(rows[0]!.len).toBeLessThan(1024 * 1024);
    expect(index.health()[0]!.cut_lines).toBe(1);
    expect(await count(index)).toBe(2);
  });

  it('coerces keys that change type instead of failing the read', async () => {
    const file = path.join(logDir, 'a.ndjson');
    const lines = [
      logLine({ ts: new Date(T0), metadata: { runtimeMs: 100, toolName: 'a', error: null } }),
      logLine({ ts: new Date(T0 + 1), metadata: { runtimeMs: '250', toolName: 7, error: { message: 'queue state undefined' } } }),
      logLine({ ts: new Date(T0 + 2), metadata: { runtimeMs: 'slow', toolName: ['x'], error: 'plain' } }),
      // A key that first appears late (a brand-new error shape) keeps its text.
      logLine({ ts: new Date(T0 + 3), kind: 'voice_error', event: 'new_failure', metadata: { brandNewKey: { deep: 'kept' }, error: 'first of its kind' } }),
    ];
    await fs.writeFile(file, `${lines.join('\n')}\n`);
    const index = await openIndex();
    const rows = await index.all<{ latency_ms: number | null; tool_name: string | null; error: string | null; nk: string | null }>(
      "SELECT latency_ms, tool_name, error, json_extract_string(metadata, '$.brandNewKey.deep') AS nk FROM logs ORDER BY ts",
    );
    expect(rows).toEqual([
      { latency_ms: 100, tool_name: 'a', error: null, nk: null },
      { latency_ms: 250, tool_name: '7', error: 'queue state undefined', nk: null },
      { latency_ms: null, tool_name: null, error: 'plain', nk: null },
      { latency_ms: null, tool_name: null, error: 'first of its kind', nk: 'kept' },
    ]);
    expect(index.health()[0]!.coerced_lines).toBe(2);
  });

  it('survives a line nested 100,000 levels deep, and the next query works', async () => {
    const file = path.join(logDir, 'a.ndjson');
    const depth = 100_000;
    const deep = `{"ts":"2026-03-13T14:00:00Z","kind":"voice_runtime","event":"deep","metadata":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    const deepArray = `{"ts":"2026-03-13T14:00:01Z","kind":"voice_runtime","event":"deep_array","metadata":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    await fs.writeFile(file, `${deep}\n${deepArray}\n${line(2)}\n`);
    const index = await openIndex();
    expect(await count(index)).toBe(3);
    const rows = await index.all<{ event: string; cut: boolean; ok: boolean; d: string | null }>(
      "SELECT event, cut, json_valid(metadata) AS ok, json_extract_string(metadata, '$.a.a.a') AS d FROM logs WHERE event LIKE 'deep%' ORDER BY ts",
    );
    expect(rows.map((r) => [r.event, r.cut, r.ok])).toEqual([
      ['deep', true, true],
      ['deep_array', true, true],
    ]);
    expect(await count(index, "WHERE json_extract_string(metadata, '$.callId') = 'call_2'")).toBe(1);
  });
});

describe('queries', () => {
  it('interrupts a runaway query at the timeout, and the next query works', async () => {
    await fs.writeFile(path.join(logDir, 'a.ndjson'), `${series(2000, T0, 1000, (i) => ({ ts: new Date(0), metadata: { runtimeMs: i } })).join('\n')}\n`);
    const index = await openIndex({ queryTimeoutMs: 300 });
    await index.refresh();
    const started = Date.now();
    await expect(index.sqlSelect('SELECT count(*) FROM logs a, logs b, logs c, logs d', { maxRows: 10 })).rejects.toThrow(/interrupted after 300 ms/);
    // Interrupted, not run to the end (which would take hours): bounded generously for a busy machine.
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await count(index)).toBe(2000);
  });

  it.each([
    ["SELECT * FROM read_text('/etc/passwd')", /not valid here|failed/],
    ["SELECT * FROM read_csv('/etc/passwd')", /not valid here|failed/],
    ["SELECT * FROM glob('/etc/*')", /not valid here|failed/],
    ["COPY (SELECT 1) TO '/tmp/x.csv'", /Only a read-only SELECT/],
    ["/* hi */ PRAGMA database_list", /Only a read-only SELECT/],
    ["CALL pragma_database_list()", /Only a read-only SELECT/],
    ["ATTACH '/tmp/other.duckdb' AS other", /Only a read-only SELECT/],
    ['INSTALL httpfs', /Only a read-only SELECT/],
    ['LOAD httpfs', /Only a read-only SELECT/],
    ["SET threads = 8", /Only a read-only SELECT/],
    ["PRAGMA database_list", /Only a read-only SELECT/],
    ['DROP TABLE events', /Only a read-only SELECT/],
    ['SELECT 1; SELECT 2', /Exactly one statement/],
    ["SELECT * FROM query('DROP TABLE events')", /not valid here|failed/],
    ["SELECT * FROM query('SET threads = 64')", /not valid here|failed/], // threads is the one setting past the lock
  ])('refuses %s', async (sql, message) => {
    await fs.writeFile(path.join(logDir, 'a.ndjson'), `${line(0)}\n`);
    const index = await openIndex();
    await index.refresh();
    await expect(index.sqlSelect(sql, { maxRows: 10 })).rejects.toThrow(message);
    expect(await count(index)).toBe(1);
  });
});

describe('DuckDB configuration', () => {
  it('stays locked but for threads, even to the index\'s own statements', async () => {
    await fs.writeFile(path.join(logDir, 'a.ndjson'), `${line(0)}\n`);
    const index = await openIndex();
    await index.refresh();
    for (const setting of ["enable_external_access = true", "memory_limit = '8GB'", "allowed_configs = ['enable_external_access']", 'lock_configuration = false']) {
      await expect(index.all(`SET ${setting}`), setting).rejects.toThrow(/locked/);
    }
    await index.all('SET threads = 1'); // what a bulk load does while it runs (bulk-load.ts)
    expect(await index.all(`SELECT current_setting('enable_external_access') AS e, current_setting('threads') AS t`)).toEqual([{ e: false, t: 1 }]);
  });
});

describe('two processes on one repository', () => {
  it('answers a second process from the first one\'s index', async () => {
    await fs.writeFile(path.join(logDir, 'a.ndjson'), `${line(0)}\n${line(1)}\n`);
    const first = await openIndex();
    expect(first.mode).toBe('shared');
    expect(first.role).toBe('owner');
    expect(await count(first)).toBe(2);
    // A second opener in another process finds the file locked and asks this one.
    const { execa } = await import('execa');
    await fs.appendFile(path.join(logDir, 'a.ndjson'), `${line(2)}\n`);
    const child = await execa(process.execPath, [path.resolve('test/helpers/open-index.mjs'), dir], { reject: false, timeout: 60_000 });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toMatchObject({ role: 'client', mode: 'shared', events: 3, ids: 3 });
    // The first read the line the second asked it to read, once; nobody built a private index.
    expect(await count(first)).toBe(3);
    const files = await fs.readdir(path.join(dir, '.selfscope'));
    expect(files.filter((f) => /^index-\d+\.duckdb/.test(f))).toEqual([]);
  });
});
