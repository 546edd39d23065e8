import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, PACKAGE_ROOT } from '../helpers/mcp-client.js';
import { createTempRepo, type TempRepo } from '../helpers/temp-repo.js';

// What a client waits for at every start: the lists. They must not load the work behind the
// tools, resources and prompts (their handler modules, execa, DuckDB), which loads at first use,
// nor the tools' definitions (their zod schemas): tools/list comes from dist/server/tools-list.json.
const REGISTER = path.join(PACKAGE_ROOT, 'test', 'helpers', 'module-log', 'register.mjs');
const HANDLER = /\/dist\/(tools|resources|prompts)\/handlers\/([\w-]+)\.js$/;
const DEFINITION = /\/dist\/tools\/(?!define-tool\.js$|_modules\.js$)([\w-]+)\.js$/;
const STALE_LIST = 'a tool definition loaded before any call: dist/server/tools-list.json is missing or stale (npm run build writes it)';

describe('selfscope serve loads the work of a tool at its first call', () => {
  let repo: TempRepo;
  let logFile: string;
  let client: Client;
  const loaded = async () => (await fs.readFile(logFile, 'utf8')).split('\n').filter(Boolean);

  beforeAll(async () => {
    repo = await createTempRepo();
    logFile = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-modules-')), 'loaded.txt');
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', REGISTER, CLI, 'serve'],
      cwd: repo.dir,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...(process.env['XDG_STATE_HOME'] ? { XDG_STATE_HOME: process.env['XDG_STATE_HOME'] } : {}), MODULE_LOG_FILE: logFile },
      stderr: 'pipe',
    });
    client = new Client({ name: 'selfscope-test', version: '0.0.0' }, { capabilities: {} });
    await client.connect(transport);
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await fs.rm(path.dirname(logFile), { recursive: true, force: true });
    await repo.cleanup();
  });

  it('answers the lists without loading a handler module, execa or DuckDB, and creates no state directory yet', async () => {
    const { tools } = await client.listTools();
    expect(tools.length).toBeGreaterThan(10);
    await client.listPrompts();
    await client.listResources();
    await client.listResourceTemplates();
    const urls = await loaded();
    // The observation works: the server's own modules were loaded.
    expect(urls.some((u) => u.endsWith('/dist/server/create-server.js'))).toBe(true);
    expect(urls.filter((u) => DEFINITION.test(u)), STALE_LIST).toEqual([]);
    expect(urls.filter((u) => HANDLER.test(u))).toEqual([]);
    expect(urls.filter((u) => /\/node_modules\/(execa|@duckdb)\//.test(u))).toEqual([]);
    await expect(fs.stat(path.join(repo.dir, '.selfscope'))).rejects.toThrow();
  }, 60_000);

  it('loads the handler of the tool called, and only that one, and makes the state directory first', async () => {
    const result = await client.callTool({ name: 'git_status', arguments: {} });
    expect(result.isError).toBeFalsy();
    // Helpers that handlers share are named with a leading underscore.
    const handlers = (await loaded()).map((u) => HANDLER.exec(u)).filter((m) => m !== null && !m[2]!.startsWith('_')).map((m) => `${m![1]}/${m![2]}`);
    expect(handlers).toEqual(['tools/git-status']);
    const definitions = (await loaded()).map((u) => DEFINITION.exec(u)?.[1]).filter((name) => name !== undefined && !name.startsWith('_'));
    expect(definitions).toEqual(['git-status']);
    expect((await fs.stat(path.join(repo.dir, '.selfscope'))).isDirectory()).toBe(true);
    expect(await fs.readFile(path.join(repo.dir, '.git', 'info', 'exclude'), 'utf8')).toContain('/.selfscope/');
  }, 60_000);
});
