import fs from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { CLI, connectStdio, PACKAGE_ROOT, type StdioSession } from '../helpers/mcp-client.js';
import { createTempRepo, type TempRepo } from '../helpers/temp-repo.js';

let repo: TempRepo;
beforeAll(async () => {
  repo = await createTempRepo();
  await fs.mkdir(path.join(repo.dir, 'data', 'logs'), { recursive: true });
  await fs.copyFile(path.join(PACKAGE_ROOT, 'examples', 'runtime-actions.ndjson'), path.join(repo.dir, 'data', 'logs', 'runtime-actions.ndjson'));
});
afterAll(async () => {
  await repo.cleanup();
});

describe('selfscope serve over stdio', () => {
  let session: StdioSession;
  beforeAll(async () => {
    session = await connectStdio(repo.dir);
  });
  afterAll(async () => {
    await session.close();
  });

  it('identifies itself and tells the agent about the autonomy boundary', () => {
    expect(session.client.getServerVersion()?.name).toBe('selfscope');
    const instructions = session.client.getInstructions() ?? '';
    expect(instructions).toMatch(/merging needs a human/i);
    expect(instructions).toMatch(/untrusted/i);
    expect(session.client.getServerCapabilities()?.logging).toBeDefined();
  });

  it('answers selfscope_status with structured content that matches its output schema', async () => {
    const { tools } = await session.client.listTools();
    const status = tools.find((t) => t.name === 'selfscope_status');
    expect(status?.outputSchema).toBeDefined();
    // The SDK client validates structuredContent against the listed outputSchema and throws when it does not match.
    const result = await session.client.callTool({ name: 'selfscope_status', arguments: {} });
    expect(result.isError).toBeFalsy();
    const structured = result.structuredContent as { repository: { root: string }; log_files: Array<{ path: string; bytes: number }>; private_dir: string };
    expect(structured.repository.root).toBe(repo.dir);
    // The private state is outside the repository, under the suite's XDG_STATE_HOME.
    expect(structured.private_dir.startsWith(`${process.env['XDG_STATE_HOME']}/selfscope/`)).toBe(true);
    expect(structured.log_files).toEqual([expect.objectContaining({ path: 'data/logs/runtime-actions.ndjson', bytes: expect.any(Number) })]);
    expect(structured.log_files[0]!.bytes).toBeGreaterThan(1000);
  });

  it('turns bad arguments into a tool error, not a crash', async () => {
    const result = await session.client.callTool({ name: 'no_such_tool', arguments: {} });
    expect(result.isError).toBe(true);
    const again = await session.client.callTool({ name: 'selfscope_status', arguments: {} });
    expect(again.isError).toBeFalsy();
  });

  it('sends diagnostics as log notifications at the level the client sets', async () => {
    const seen: string[] = [];
    session.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      seen.push(n.params.level);
    });
    await session.client.setLoggingLevel('debug');
    await session.client.callTool({ name: 'selfscope_status', arguments: {} });
    // Notifications may trail the response by a tick; wait for them with a bound.
    const deadline = Date.now() + 30_000;
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(seen.filter((l) => l === 'debug').length).toBeGreaterThanOrEqual(2);

    seen.length = 0;
    await session.client.setLoggingLevel('error');
    const result = await session.client.callTool({ name: 'selfscope_status', arguments: {} });
    expect(result.isError).toBeFalsy();
    await session.client.ping(); // anything sent before the ping's answer has arrived by now
    expect(seen).toEqual([]);
  });
});

describe('stdout discipline and shutdown', () => {
  it('writes nothing but JSON-RPC on stdout, and exits when stdin closes', async () => {
    const child = spawn(process.execPath, [CLI, 'serve'], { cwd: repo.dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const send = (msg: unknown) => child.stdin.write(`${JSON.stringify(msg)}\n`);
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'selfscope_status', arguments: {} } });
    const deadline = Date.now() + 60_000;
    while (!stdout.includes('"id":3') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.stdin.end();
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 30_000))]);
    if (code === 'timeout') child.kill('SIGKILL');
    expect(code).toBe(0);
    const lines = stdout.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
  });

  it('exits cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI, 'serve'], { cwd: repo.dir, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } })}\n`);
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('--read-only', () => {
  it('lists only read-only tools', async () => {
    const full = await connectStdio(repo.dir);
    const readOnly = await connectStdio(repo.dir, ['--read-only']);
    try {
      const all = (await full.client.listTools()).tools;
      const ro = (await readOnly.client.listTools()).tools;
      expect(ro.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
      expect(ro.map((t) => t.name)).toEqual(all.filter((t) => t.annotations?.readOnlyHint === true).map((t) => t.name));
      const writer = all.find((t) => t.annotations?.readOnlyHint !== true);
      if (writer) {
        const refused = await readOnly.client.callTool({ name: writer.name, arguments: {} });
        expect(refused.isError).toBe(true);
      }
    } finally {
      await full.close();
      await readOnly.close();
    }
  });

  it('refuses an unknown toolset with a usage error (exit 2)', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--toolsets', 'logs,bogus'], { cwd: repo.dir });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/unknown toolset bogus/);
  });
});
