import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/core/logger.js';
import { IndexClient } from '../../../src/core/logs/index-client.js';
import { indexSocketPath, MAX_REQUEST_BYTES } from '../../../src/core/logs/index-protocol.js';
import { LogIndex } from '../../../src/core/logs/log-index.js';
import type { RefreshProgress } from '../../../src/core/logs/refresh-progress.js';
import { series } from '../../helpers/log-lines.js';

/**
 * The owner's socket, spoken to directly (as any process of the same user could, the agent's
 * code included): it answers no more than query_runtime_logs does, within the owner's limits.
 */

let dir: string;
let index: LogIndex;
let client: IndexClient;
const T0 = Date.parse('2026-03-13T14:00:00Z');

async function open(overrides: { queryTimeoutMs?: number } = {}): Promise<void> {
  const config = await loadConfig({ cwd: dir, env: {}, flags: { repo: dir } });
  index = await LogIndex.open({ repo: dir, logs: config.logs, stateDirPath: config.stateDirPath, schema: config.schema, limits: { ...config.limits, ...overrides }, logger: silentLogger });
  const connected = await IndexClient.connect(indexSocketPath(config.stateDirPath));
  if (!connected) throw new Error('the owner does not answer');
  client = connected.client;
}

/** A raw connection: what arrives until the owner closes it. */
async function rawExchange(payload: Buffer | string): Promise<string> {
  const socket = net.createConnection(indexSocketPath(path.join(dir, '.selfscope')));
  let received = '';
  socket.on('data', (d) => (received += d.toString()));
  await new Promise<void>((resolve) => {
    socket.on('close', () => resolve());
    socket.on('error', () => {});
    socket.on('connect', () => socket.write(payload));
  });
  return received;
}

beforeEach(async () => {
  dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-socket-')));
  await fs.mkdir(path.join(dir, 'data', 'logs'), { recursive: true });
  await fs.writeFile(path.join(dir, 'data', 'logs', 'a.ndjson'), `${series(2000, T0, 1000, (i, ts) => ({ ts, metadata: { callId: `call_${i}` } })).join('\n')}\n`);
});
afterEach(async () => {
  client?.close();
  await index?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('the log index socket', () => {
  it('puts every query through the read-only guard', async () => {
    await open();
    for (const sql of ['DROP TABLE events', "COPY (SELECT 1) TO '/tmp/x.csv'", 'SELECT 1; DROP TABLE events', "INSERT INTO events (id) VALUES ('x')"]) {
      await expect(client.request('query', { sql, params: [] })).rejects.toThrow(/Only a read-only SELECT|Exactly one statement/);
      await expect(client.request('all', { sql, params: [] })).rejects.toThrow(/Only a read-only SELECT|Exactly one statement/);
    }
    await expect(client.request('sql', { sql: "SELECT * FROM read_text('/etc/passwd')", maxRows: 5 })).rejects.toThrow(/not valid here|failed/);
    const r = (await client.request('all', { sql: 'SELECT count(*) AS n FROM logs WHERE call_id = ?', params: ['call_7'] })) as { rows: Array<{ n: number }> };
    expect(r.rows).toEqual([{ n: 1 }]);
    expect(await index.all('SELECT count(*) AS n FROM logs')).toEqual([{ n: 2000 }]);
  });

  it("applies the owner's timeout, whatever the client asks", async () => {
    await open({ queryTimeoutMs: 300 });
    await index.refresh();
    await expect(client.request('query', { sql: 'SELECT count(*) FROM logs a, logs b, logs c, logs d', params: [], timeoutMs: 3_600_000 })).rejects.toThrow(/interrupted after 300 ms/);
  });

  it('returns rows as the owner reads them, nested bigints and timestamps included', async () => {
    await open();
    const sql = "SELECT [1::BIGINT, 2] AS l, {a: 1::HUGEINT} AS s, TIMESTAMP '2026-01-01 00:00:00' AS t, min(ts) AS first FROM logs";
    const remote = await client.request('sql', { sql, maxRows: 5 });
    expect(remote).toEqual(await index.sqlSelect(sql, { maxRows: 5 }));
    expect((remote as { rows: Array<{ l: unknown }> }).rows[0]!.l).toEqual([1n, 2n]);
  });

  it('reports the progress of the refresh a client waits for', async () => {
    await open();
    const reports: RefreshProgress[] = [];
    const r = (await client.request('refresh', { progress: true }, (p) => reports.push(p))) as { stats: { new_events: number }; freshness: { events: number } };
    expect(r.stats.new_events).toBe(2000);
    expect(r.freshness.events).toBe(2000);
    const size = (await fs.stat(path.join(dir, 'data', 'logs', 'a.ndjson'))).size;
    expect(reports.at(-1)).toMatchObject({ final: true, bytes_done: size, events: 2000 });
  });

  it('drops a connection that sends an oversized or malformed request, and keeps serving', async () => {
    await open();
    const big = await rawExchange(Buffer.alloc(MAX_REQUEST_BYTES + 10, 0x61));
    expect(big).toMatch(/larger than/);
    expect(await rawExchange('not json\n')).toBe('');
    const r = (await client.request('query', { sql: 'SELECT count(*) AS n FROM logs', params: [] })) as { rows: unknown[] };
    expect(r.rows).toEqual([{ n: 0 }]);
  });

  it('gives the socket to this user only', async () => {
    await open();
    const socket = indexSocketPath(path.join(dir, '.selfscope'));
    expect((await fs.stat(socket)).mode & 0o777).toBe(0o600);
    expect((await fs.stat(path.dirname(socket))).mode & 0o777).toBe(0o700);
  });
});

describe('a second LogIndex on the same repository', () => {
  // Taking over is tested with real processes (test/e2e/shared-index.test.ts): in one process
  // DuckDB's file lock does not keep two instances apart.
  it('is a client with the same answers, and hears new lines while it follows', async () => {
    await open();
    client.close();
    const config = await loadConfig({ cwd: dir, env: {}, flags: { repo: dir } });
    const second = await LogIndex.open({ repo: dir, logs: config.logs, stateDirPath: config.stateDirPath, schema: config.schema, limits: config.limits, logger: silentLogger });
    try {
      expect(second.role).toBe('client');
      expect(second.file).toBe(index.file);
      expect(await second.all('SELECT count(*) AS n FROM logs')).toEqual([{ n: 2000 }]);
      expect(second.health()).toEqual(index.health());
      expect(second.freshness()).toMatchObject({ events: 2000, mode: 'shared' });
      await expect(second.sqlSelect('DROP TABLE events', { maxRows: 1 })).rejects.toThrow(/Only a read-only SELECT/);
      const page = await second.query<{ call_id: string }>('SELECT call_id FROM logs ORDER BY ts LIMIT ?', [3], { maxRows: 2 });
      expect(page).toEqual({ rows: [{ call_id: 'call_0' }, { call_id: 'call_1' }], more: true });

      const heard = new Promise<void>((resolve) => second.follow(resolve, 50));
      await fs.appendFile(path.join(dir, 'data', 'logs', 'a.ndjson'), `${series(1, T0 + 5_000_000, 1000, (_, ts) => ({ ts, metadata: { callId: 'call_new' } }))[0]}\n`);
      await heard;
      expect(second.freshness().events).toBe(2001);
      expect(second.health()[0]).toMatchObject({ lines: 2001, live: true });
    } finally {
      await second.close();
    }
  });
});
