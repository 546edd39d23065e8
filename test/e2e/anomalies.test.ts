import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBotFixture, LOG_END_OFFSET_MS, type BotFixture } from '../../src/cli/demo/bot-fixture.js';
import { connectStdio, PACKAGE_ROOT, type StdioSession } from '../helpers/mcp-client.js';

const textOf = (r: { contents: Array<Record<string, unknown>> }) => String(r.contents[0]?.['text'] ?? '');

describe('anomalies over stdio', () => {
  let dir: string;
  let fixture: BotFixture;
  let session: StdioSession;

  beforeAll(async () => {
    dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-anomalies-')));
    fixture = await createBotFixture(dir, path.join(PACKAGE_ROOT, 'node_modules'), Date.now() + LOG_END_OFFSET_MS);
    session = await connectStdio(dir);
  }, 60_000);

  afterAll(async () => {
    await session?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('notifies a subscriber of anomalies/open when detection opens anomalies, and only then', async () => {
    const updates: string[] = [];
    session.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    await session.client.subscribeResource({ uri: 'selfscope://anomalies/open' });
    expect(JSON.parse(textOf(await session.client.readResource({ uri: 'selfscope://anomalies/open' }))).anomalies).toEqual([]);

    const first = await session.client.callTool({ name: 'detect_anomalies', arguments: {} });
    const opened = (first.structuredContent as { opened: string[]; state_updated: boolean }).opened;
    expect((first.structuredContent as { state_updated: boolean }).state_updated).toBe(true);
    expect(opened.length).toBeGreaterThan(0);
    // One incident per problem: the music queue's error rate leads, its new error is a member signal, not an anomaly of its own.
    const found = (first.structuredContent as { notice: string | null; anomalies: Array<{ id: string; rule: string; subject: Record<string, string | null>; signals: Array<{ rule: string; subject: Record<string, string | null> }> }> });
    expect(found.notice).toBeNull();
    const queue = found.anomalies.filter((a) => a.signals.some((s) => s.subject['tool_name'] === 'music_queue_add'));
    expect(queue).toHaveLength(1);
    expect(queue[0]!.signals[0]!.rule).toBe('error_rate');
    await expect.poll(() => updates, { timeout: 30_000 }).toContain('selfscope://anomalies/open');

    const open = JSON.parse(textOf(await session.client.readResource({ uri: 'selfscope://anomalies/open' }))) as { untrusted: boolean; anomalies: Array<{ id: string }> };
    expect(open.untrusted).toBe(true);
    expect(open.anomalies.map((a) => a.id).sort()).toEqual([...opened].sort());
    const detail = JSON.parse(textOf(await session.client.readResource({ uri: `selfscope://anomalies/${opened[0]}` }))) as { status: string; history: Array<{ change: string }> };
    expect(detail.status).toBe('open');
    expect(detail.history.map((h) => h.change)).toEqual(['opened']);

    // The same anomalies again: nothing changed, nothing is sent.
    const count = updates.length;
    const again = await session.client.callTool({ name: 'detect_anomalies', arguments: {} });
    expect((again.structuredContent as { opened: string[] }).opened).toEqual([]);
    await new Promise((r) => setTimeout(r, 300));
    expect(updates.length).toBe(count);
  });

  it('finds the culprit commit for an open anomaly, and refuses a malformed id with what to do', async () => {
    const open = JSON.parse(textOf(await session.client.readResource({ uri: 'selfscope://anomalies/open' }))) as { anomalies: Array<{ id: string; rule: string }> };
    const errorRate = open.anomalies.find((a) => a.rule === 'error_rate')!;
    const suspects = await session.client.callTool({ name: 'suspect_commits', arguments: { anomaly_id: errorRate.id } });
    expect((suspects.structuredContent as { suspects: Array<{ sha: string }> }).suspects[0]!.sha).toBe(fixture.culprit.sha);
    await expect(session.client.readResource({ uri: 'selfscope://anomalies/nope' })).rejects.toThrow(/An anomaly id looks like an-/);
    const missing = await session.client.callTool({ name: 'verify_fix', arguments: { anomaly_id: 'an-000000000000', time: '10m' } });
    expect(missing.isError).toBe(true);
    expect(JSON.stringify(missing.content)).toMatch(/No anomaly an-000000000000/);
  });
});
