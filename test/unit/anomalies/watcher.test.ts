import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configFileSchema } from '../../../src/config/schema.js';
import { appendAudit } from '../../../src/core/audit/audit-log.js';
import { detectAnomalies } from '../../../src/core/anomalies/detect.js';
import { updateAnomalyState } from '../../../src/core/anomalies/state.js';
import { Watcher } from '../../../src/core/anomalies/watcher.js';
import { emptyIndexNotice } from '../../../src/core/logs/index-coverage.js';
import { silentLogger } from '../../../src/core/logger.js';
import { LogIndex } from '../../../src/core/logs/log-index.js';
import { logLine, type LineOptions } from '../../helpers/log-lines.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const NOW = Date.now();
function incident(tool: string, from: number, failing: boolean): LineOptions[] {
  return Array.from({ length: 40 }, (_, i) => ({
    ts: new Date(from + i * 14_000),
    kind: failing && i % 2 ? 'voice_error' : 'voice_runtime',
    event: failing && i % 2 ? 'realtime_tool_call_failed' : 'realtime_tool_call_completed',
    metadata: { toolName: tool, runtimeMs: 100, error: failing && i % 2 ? 'queue state undefined' : null },
  }));
}

/** A receiver on 127.0.0.1 that answers with the given statuses in turn, then 204. */
async function receiver(statuses: number[] = []) {
  const bodies: Array<Record<string, unknown>> = [];
  let calls = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const status = statuses[calls++] ?? 204;
      if (status < 300) bodies.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/webhooks/1/secret`, bodies, calls: () => calls };
}

async function setup(lines: LineOptions[], watch: Record<string, unknown> = {}) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-watch-'));
  await fs.mkdir(path.join(dir, 'data', 'logs'), { recursive: true });
  const logFile = path.join(dir, 'data', 'logs', 'a.ndjson');
  await fs.writeFile(logFile, `${lines.map(logLine).join('\n')}\n`);
  const config = { ...configFileSchema.parse({ watch }), repo: dir, stateDirPath: path.join(dir, '.selfscope'), privateDirPath: path.join(dir, 'private') };
  const index = await LogIndex.open({ repo: dir, logs: config.logs, stateDirPath: config.stateDirPath, schema: config.schema, limits: config.limits, logger: silentLogger });
  cleanups.push(async () => {
    await index.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  return { dir, logFile, config, index };
}

describe('selfscope watch', () => {
  it('posts a Discord-format message, retrying a 500, and writes an NDJSON line', async () => {
    const hook = await receiver([500]);
    const { config, index } = await setup(incident('music_queue_add', NOW - 9 * 60_000, true));
    const lines: string[] = [];
    const watcher = new Watcher({ index, config, logger: silentLogger, emit: (l) => lines.push(l), webhookUrl: hook.url, retryDelayMs: 5 });
    const sent = await watcher.tick();
    expect(sent.map((s) => s.webhook)).toContain('sent');
    expect(hook.calls()).toBeGreaterThanOrEqual(2);
    const body = hook.bodies[0]!;
    expect(String(body['content'])).toMatch(/music_queue_add/);
    expect(body['allowed_mentions']).toEqual({ parse: [] });
    expect((body['embeds'] as Array<{ fields: Array<{ name: string }> }>)[0]!.fields.map((f) => f.name)).toContain('Evidence (query_runtime_logs)');
    expect(JSON.stringify(body)).not.toContain('/api/webhooks/1/secret');
    expect(lines.map((l) => JSON.parse(l) as { anomaly_id: string })[0]!.anomaly_id).toMatch(/^an-/);
    const audit = await fs.readFile(path.join(config.privateDirPath, 'audit.ndjson'), 'utf8');
    expect(audit).toContain('"kind":"selfscope_watch"');
  });

  it('does not notify the same anomaly again within the cooldown', async () => {
    const hook = await receiver();
    const { config, index, logFile } = await setup(incident('music_queue_add', NOW - 9 * 60_000, true));
    const watcher = new Watcher({ index, config, logger: silentLogger, emit: () => {}, webhookUrl: hook.url, retryDelayMs: 5 });
    const first = await watcher.tick();
    expect(first.length).toBeGreaterThan(0);
    await fs.appendFile(logFile, `${logLine({ ts: new Date(), kind: 'voice_error', event: 'realtime_tool_call_failed', metadata: { toolName: 'music_queue_add', error: 'queue state undefined' } })}\n`);
    expect(await watcher.tick()).toEqual([]);
    expect(hook.bodies.length).toBe(first.length);
  });

  it('runs the hook with the anomaly as JSON on stdin, but not while paused, nor past the budget', async () => {
    const out = path.join(os.tmpdir(), `selfscope-hook-${process.pid}-${Date.now()}.json`);
    cleanups.push(() => fs.rm(out, { force: true }));
    const hookCmd = [process.execPath, '-e', `let s='';process.stdin.on('data',d=>s+=d).on('end',()=>require('fs').appendFileSync(${JSON.stringify(out)}, JSON.stringify({ stdin: JSON.parse(s), launch: process.env.SELFSCOPE_HOOK_LAUNCH }) + '\\n'))`];

    const paused = await setup(incident('music_queue_add', NOW - 9 * 60_000, true), { hook: hookCmd });
    await fs.mkdir(paused.config.stateDirPath, { recursive: true });
    await fs.writeFile(path.join(paused.config.stateDirPath, 'paused'), '');
    const p = await new Watcher({ index: paused.index, config: paused.config, logger: silentLogger, emit: () => {} }).tick();
    expect(p.every((n) => n.hook === 'skipped: paused')).toBe(true);
    await expect(fs.access(out)).rejects.toThrow();

    const live = await setup(incident('music_queue_add', NOW - 9 * 60_000, true), { hook: hookCmd, dailyBudget: { launches: 1, usd: 5 } });
    const sent = await new Watcher({ index: live.index, config: live.config, logger: silentLogger, emit: () => {} }).tick();
    expect(sent.map((n) => n.hook)).toContain('launched');
    expect(sent.filter((n) => n.hook === 'launched')).toHaveLength(1);
    const received = JSON.parse((await fs.readFile(out, 'utf8')).split('\n')[0]!) as { stdin: { change: string; anomaly: { id: string } }; launch: string };
    expect(received.stdin.change).toBe('opened');
    expect(received.stdin.anomaly.id).toMatch(/^an-/);
    // The hook's environment names the anomaly: `selfscope session` started by it fixes that one.
    expect(received.launch).toBe(received.stdin.anomaly.id);
    // Over the daily budget (one launch) everything else is skipped.
    expect(sent.filter((n) => n.hook === 'skipped: budget').length).toBe(sent.length - 1);

    const spent = await setup(incident('web_search', NOW - 9 * 60_000, true), { hook: hookCmd, dailyBudget: { launches: 10, usd: 1 } });
    await appendAudit(spent.config.privateDirPath, { kind: 'selfscope_session', event: 'session_finished', tool: 'launchSession', outcome: 'completed', usd_cost: 1.5 });
    const s = await new Watcher({ index: spent.index, config: spent.config, logger: silentLogger, emit: () => {} }).tick();
    expect(s.every((n) => n.hook === 'skipped: budget')).toBe(true);
  });

  it('never floods: past the hourly limit the rest is summarised in one message', async () => {
    const hook = await receiver();
    const lines = ['a_tool', 'b_tool', 'c_tool'].flatMap((t) => incident(t, NOW - 9 * 60_000, true));
    const { config, index } = await setup(lines, { maxPerHour: 1 });
    const sent = await new Watcher({ index, config, logger: silentLogger, emit: () => {}, webhookUrl: hook.url, retryDelayMs: 5 }).tick();
    expect(sent.filter((n) => n.webhook === 'sent')).toHaveLength(1);
    expect(sent.filter((n) => n.webhook === 'summarised').length).toBe(sent.length - 1);
    expect(hook.bodies).toHaveLength(2);
    expect(String(hook.bodies[1]!['content'])).toMatch(/more anomal/);
  });

  it('costs nothing when the log is idle', async () => {
    const { config, index } = await setup(incident('music_queue_add', NOW - 9 * 60_000, false));
    const watcher = new Watcher({ index, config, logger: silentLogger, emit: () => {} });
    await watcher.tick();
    const t = performance.now();
    for (let i = 0; i < 20; i++) expect(await watcher.tick()).toEqual([]);
    expect(performance.now() - t).toBeLessThan(2000);
  });

  it('notifies an incident that an agent\'s detect_anomalies opened first', async () => {
    const hook = await receiver();
    const { config, index } = await setup(incident('music_queue_add', NOW - 9 * 60_000, true));
    await index.refresh();
    const at = new Date();
    const found = await detectAnomalies(index, { at, thresholds: config.anomalies });
    expect(found.length).toBeGreaterThan(0);
    expect((await updateAnomalyState(config.privateDirPath, found, at, 30 * 60_000)).opened.length).toBe(found.length);
    const sent = await new Watcher({ index, config, logger: silentLogger, emit: () => {}, webhookUrl: hook.url, retryDelayMs: 5 }).tick();
    expect(sent.map((n) => n.anomaly_id).sort()).toEqual(found.map((a) => a.id).sort());
    expect(sent.every((n) => n.change === 'opened' && n.webhook === 'sent')).toBe(true);
  });

  it('sends one message per incident, naming its signals', async () => {
    const hook = await receiver();
    const { config, index } = await setup(incident('music_queue_add', NOW - 9 * 60_000, true));
    const sent = await new Watcher({ index, config, logger: silentLogger, emit: () => {}, webhookUrl: hook.url, retryDelayMs: 5 }).tick();
    expect(sent).toHaveLength(1);
    expect(hook.bodies).toHaveLength(1);
    expect(sent[0]!.rules.length).toBeGreaterThanOrEqual(1);
    expect(sent[0]!.rules).toContain('new_error');
  });

  it('a dry run returns what is due without sending or recording it; a real evaluation then notifies it once', async () => {
    const hook = await receiver();
    const { config, index } = await setup(incident('music_queue_add', NOW - 9 * 60_000, true));
    const watcher = () => new Watcher({ index, config, logger: silentLogger, emit: () => {}, webhookUrl: hook.url, retryDelayMs: 5 });
    const dry = await watcher().evaluate({ dryRun: true });
    expect(dry.notifications.length).toBeGreaterThan(0);
    expect(dry.notifications.every((n) => n.webhook === 'dry_run')).toBe(true);
    expect(hook.calls()).toBe(0);
    const real = await watcher().evaluate();
    expect(real.notifications.map((n) => n.anomaly_id)).toEqual(dry.notifications.map((n) => n.anomaly_id));
    // A new watcher process, the same incidents: notified already, by its own record.
    const again = await watcher().evaluate({ force: true });
    expect(again.notifications).toEqual([]);
    expect(again.open.every((o) => o.notified_at !== null)).toBe(true);
    expect(hook.bodies).toHaveLength(real.notifications.length);
  });

  it('says when nothing is indexed instead of reporting no anomaly', async () => {
    const empty = await setup([]);
    await fs.writeFile(empty.logFile, '');
    await empty.index.refresh();
    expect(await emptyIndexNotice(empty.index, empty.dir, empty.config.logs)).toMatch(/Nothing is indexed: 1 log file matched .* no event yet/);
    const result = await new Watcher({ index: empty.index, config: empty.config, logger: silentLogger, emit: () => {} }).evaluate();
    expect(result.notice).toMatch(/Nothing is indexed/);
    await fs.rm(empty.logFile);
    const none = await setup([]);
    await fs.rm(none.logFile);
    await none.index.refresh();
    expect(await emptyIndexNotice(none.index, none.dir, none.config.logs)).toMatch(/no log file matched/);
  });
});
