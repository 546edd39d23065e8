import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/core/logger.js';
import { ALL_PROMPTS } from '../../../src/prompts/index.js';
import { ALL_RESOURCES } from '../../../src/resources/index.js';
import { AppContext } from '../../../src/server/app-context.js';
import { createServer } from '../../../src/server/create-server.js';
import { TOOLSETS, type AnyToolDefinition } from '../../../src/tools/define-tool.js';
import { ALL_TOOLS } from '../../../src/tools/index.js';
import { createTempRepo, type TempRepo } from '../../helpers/temp-repo.js';

const TOOLS_DIR = path.resolve(__dirname, '../../../src/tools');
const SNAKE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

describe('tool registry conventions', () => {
  it('has unique snake_case names', () => {
    const names = ALL_TOOLS.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(SNAKE);
  });

  it('keeps every tool in a file named after it, and every tool file registered', () => {
    const files = fs
      .readdirSync(TOOLS_DIR)
      .filter((f) => f.endsWith('.ts') && !['index.ts', 'define-tool.ts'].includes(f) && !f.endsWith('.test.ts'))
      // Shared helpers of tool files are not tools; they say so in their name.
      .filter((f) => !f.startsWith('_') && !f.endsWith('-shared.ts') && f !== 'log-source.ts');
    for (const tool of ALL_TOOLS) {
      const file = `${tool.name.replace(/_/g, '-')}.ts`;
      expect(files, `tool ${tool.name} must live in src/tools/${file}`).toContain(file);
      const source = fs.readFileSync(path.join(TOOLS_DIR, file), 'utf8');
      expect(source, `${file} must define ${tool.name}`).toContain(`name: '${tool.name}'`);
    }
    expect(files.sort()).toEqual(ALL_TOOLS.map((t) => `${t.name.replace(/_/g, '-')}.ts`).sort());
  });

  it.each(ALL_TOOLS.map((t) => [t.name, t] as [string, AnyToolDefinition]))('%s declares complete annotations, schemas and a bounded description', (_name, tool) => {
    for (const key of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) {
      expect(typeof tool.annotations[key], `${tool.name}.annotations.${key}`).toBe('boolean');
    }
    expect(tool.annotations.readOnlyHint && tool.annotations.destructiveHint, 'never read-only and destructive at once').toBe(false);
    expect((TOOLSETS as readonly string[]).includes(tool.toolset)).toBe(true);
    expect(tool.description.length).toBeGreaterThanOrEqual(40);
    expect(tool.description.length).toBeLessThanOrEqual(1200);
    expect(tool.title.length).toBeGreaterThan(0);
    expect(typeof tool.inputSchema).toBe('object');
    expect(Object.keys(tool.outputSchema).length).toBeGreaterThan(0);
  });

  it('gives resources and prompts unique names', () => {
    const resourceNames = ALL_RESOURCES.map((r) => r.name);
    expect(new Set(resourceNames).size).toBe(resourceNames.length);
    const promptNames = ALL_PROMPTS.map((p) => p.name);
    expect(new Set(promptNames).size).toBe(promptNames.length);
    for (const name of [...resourceNames, ...promptNames]) expect(name).toMatch(SNAKE);
  });
});

describe('tools/list', () => {
  let repo: TempRepo;
  let client: Client;
  beforeAll(async () => {
    repo = await createTempRepo();
    const config = await loadConfig({ cwd: repo.dir, env: {} });
    const app = new AppContext(config, silentLogger, { transport: 'in-process', readOnly: false, toolsets: undefined }, repo.dir);
    const server = createServer(app);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    client = new Client({ name: 'registry-test', version: '0' });
    await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  });
  afterAll(async () => {
    await client.close();
    await repo.cleanup();
  });

  it('matches the snapshot, so schema changes are deliberate (update with: npx vitest run -u)', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(ALL_TOOLS.map((t) => t.name));
    await expect(JSON.stringify(tools, null, 2)).toMatchFileSnapshot('./__snapshots__/tools-list.json');
  });

  it('sends every annotation and an output schema for every tool', async () => {
    const { tools } = await client.listTools();
    for (const tool of tools) {
      expect(tool.annotations).toMatchObject({
        readOnlyHint: expect.any(Boolean),
        destructiveHint: expect.any(Boolean),
        idempotentHint: expect.any(Boolean),
        openWorldHint: expect.any(Boolean),
      });
      expect(tool.outputSchema?.type).toBe('object');
    }
  });
});
