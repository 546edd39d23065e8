import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTools } from '../../src/server/tool-listing.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { CLI, PACKAGE_ROOT } from '../helpers/mcp-client.js';
import { createTempRepo, type TempRepo } from '../helpers/temp-repo.js';

/** The text of the result of tools/list as `selfscope serve` sends it over stdio. */
async function toolsListResult(cwd: string, args: string[] = []): Promise<string> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...(process.env['XDG_STATE_HOME'] ? { XDG_STATE_HOME: process.env['XDG_STATE_HOME'] } : {}) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const send = (message: object) => child.stdin.write(`${JSON.stringify(message)}\n`);
  try {
    return await new Promise<string>((resolve, reject) => {
      let buffer = '';
      child.on('exit', (code) => reject(new Error(`selfscope serve exited (${code}): ${stderr}`)));
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          const message = JSON.parse(line) as { id?: number; result?: unknown };
          if (message.id === 1) {
            send({ jsonrpc: '2.0', method: 'notifications/initialized' });
            send({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} });
          } else if (message.id === 2) {
            resolve(JSON.stringify(message.result));
          }
        }
      });
      send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'tools-list-test', version: '0' } } });
    });
  } finally {
    child.stdin.end();
    child.kill();
  }
}

describe('tools/list of the built server', () => {
  let repo: TempRepo;
  beforeAll(async () => {
    repo = await createTempRepo();
  }, 60_000);
  afterAll(async () => {
    await repo.cleanup();
  });

  it('is, to the byte, what the SDK makes of the definitions', async () => {
    expect(await toolsListResult(repo.dir)).toBe(JSON.stringify({ tools: await listTools(ALL_TOOLS) }));
  }, 60_000);

  it('lists in a narrowed session what the SDK makes of the tools registered there', async () => {
    const readOnly = ALL_TOOLS.filter((t) => t.annotations.readOnlyHint);
    expect(readOnly.length).toBeLessThan(ALL_TOOLS.length);
    expect(await toolsListResult(repo.dir, ['--read-only'])).toBe(JSON.stringify({ tools: await listTools(readOnly) }));
  }, 60_000);

  it("is served from a list the build wrote, made from every tool's definition", async () => {
    const file = JSON.parse(await fs.readFile(path.join(PACKAGE_ROOT, 'dist', 'server', 'tools-list.json'), 'utf8')) as { sources: string[]; tools: Array<{ listed: { name: string } }> };
    expect(file.tools.map((t) => t.listed.name)).toEqual(ALL_TOOLS.map((t) => t.name));
    for (const tool of ALL_TOOLS) expect(file.sources).toContain(`tools/${tool.name.replace(/_/g, '-')}.js`);
    expect(file.sources).toContain('server/tool-listing.js');
  });
});
