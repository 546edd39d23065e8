import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/core/logger.js';
import { AppContext } from '../../../src/server/app-context.js';
import { createServer } from '../../../src/server/create-server.js';
import { createTempRepo } from '../../helpers/temp-repo.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

/** selfscope_status over an in-process MCP connection; the client checks the output schema. */
async function status(env: Record<string, string>): Promise<{ sandbox: Record<string, unknown>; text: string }> {
  const repo = await createTempRepo();
  cleanups.push(repo.cleanup);
  const stateHome = await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-xdg-'));
  cleanups.push(() => fs.rm(stateHome, { recursive: true, force: true }));
  const config = await loadConfig({ cwd: repo.dir, env: { XDG_STATE_HOME: stateHome, ...env } });
  const app = new AppContext(config, silentLogger, { transport: 'in-process', readOnly: false, toolsets: undefined }, repo.dir);
  const server = createServer(app);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'test', version: '0' });
  await client.connect(clientSide);
  cleanups.push(async () => {
    await client.close();
    await server.close();
    await app.close();
  });
  const result = await client.callTool({ name: 'selfscope_status', arguments: {} });
  expect(result.isError).toBeFalsy();
  return {
    sandbox: (result.structuredContent as { sandbox: Record<string, unknown> }).sandbox,
    text: (result.content as Array<{ text: string }>)[0]!.text,
  };
}

describe('selfscope_status shows the sandbox', () => {
  it('bwrap, available, loopback only', async () => {
    const { sandbox, text } = await status({});
    expect(sandbox).toEqual({ mode: 'bwrap', available: true, reason: null, network: false, unsandboxed: null });
    expect(text).toMatch(/^sandbox: bwrap .*network loopback only/m);
  }, 60_000);

  it('says plainly what checks.sandbox "off" gives up', async () => {
    const { sandbox, text } = await status({ SELFSCOPE_CHECKS__SANDBOX: 'off' });
    expect(sandbox).toMatchObject({ mode: 'off', network: true, unsandboxed: expect.stringMatching(/private state and record key.*network.*processes running/) });
    expect(text).toMatch(/^sandbox: OFF \(checks\.sandbox\) — test code/m);
  }, 60_000);
});
