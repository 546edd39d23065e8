import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/core/logger.js';
import { AppContext } from '../../../src/server/app-context.js';
import { createServer } from '../../../src/server/create-server.js';
import { deferredToolSchemas } from '../../../src/server/deferred-schemas.js';
import { TOOL_CATALOG, TOOL_CATALOG_SOURCE } from '../../../src/server/tool-catalog.js';
import { readCatalogFile, sourcesFingerprint } from '../../../src/server/tool-catalog-file.js';
import { dynamicImports, staticImports } from '../../../src/server/tool-listing.js';
import { TOOL_MODULES } from '../../../src/tools/_modules.js';
import { ALL_TOOLS } from '../../../src/tools/index.js';
import { createTempRepo, type TempRepo } from '../../helpers/temp-repo.js';

async function connect(server: McpServer): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'tool-catalog-test', version: '0' });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  return client;
}

describe('the tool catalog', () => {
  it('knows every tool of the registry, in order, with what registration decides on (made from source here)', () => {
    expect(TOOL_CATALOG_SOURCE).toBe('computed');
    expect(TOOL_CATALOG.map((t) => t.name)).toEqual(ALL_TOOLS.map((t) => t.name));
    TOOL_CATALOG.forEach((entry, i) => {
      const tool = ALL_TOOLS[i]!;
      expect(entry.toolset, entry.name).toBe(tool.toolset);
      expect(entry.annotations, entry.name).toEqual(tool.annotations);
      expect(entry.longRunning, entry.name).toBe(tool.longRunning === true);
      expect(entry.listed.name).toBe(tool.name);
      expect(entry.listed.annotations, entry.name).toEqual({ title: tool.title, ...tool.annotations });
    });
    expect(TOOL_CATALOG.some((t) => t.longRunning)).toBe(true);
  });

  it("loads each tool's own definition", async () => {
    expect(Object.keys(TOOL_MODULES)).toEqual(ALL_TOOLS.map((t) => t.name));
    for (const [i, entry] of TOOL_CATALOG.entries()) expect(await entry.load()).toBe(ALL_TOOLS[i]);
  });
});

describe('the list file the build writes', () => {
  let dir: string;
  let root: URL;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-catalog-'));
    root = pathToFileURL(`${dir}/`);
    await fs.mkdir(path.join(dir, 'lib'));
    await fs.mkdir(path.join(dir, 'handlers'));
    await fs.writeFile(path.join(dir, 'index.js'), "import { a } from './a.js';\nexport { b } from './lib/b.js';\nimport { z } from 'zod';\nexport const load = () => import('./handlers/h.js');\n");
    await fs.writeFile(path.join(dir, 'a.js'), "import {\n  c,\n} from './lib/c.js';\nexport const a = c;\n");
    await fs.writeFile(path.join(dir, 'lib', 'b.js'), "import './c.js';\nexport const b = 2;\n");
    await fs.writeFile(path.join(dir, 'lib', 'c.js'), 'export const c = 3;\n');
    await fs.writeFile(path.join(dir, 'handlers', 'h.js'), "import '../a.js';\n");
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('names the modules an import loads, not those loaded later by dynamic imports', () => {
    expect(staticImports(root, ['index.js'])).toEqual(['a.js', 'index.js', 'lib/b.js', 'lib/c.js']);
    expect(dynamicImports(root, 'index.js')).toEqual(['handlers/h.js']);
  });

  it('is used only while the modules it was made from are unchanged', async () => {
    const sources = staticImports(root, ['index.js']);
    const file = pathToFileURL(path.join(dir, 'tools-list.json'));
    const write = (content: object) => fs.writeFile(file, JSON.stringify(content));
    await write({ sources, fingerprint: sourcesFingerprint(root, sources), tools: [] });
    expect(readCatalogFile(file, root)?.sources).toEqual(sources);

    await fs.appendFile(path.join(dir, 'lib', 'c.js'), 'export const d = 4;\n');
    expect(readCatalogFile(file, root)).toBeNull();

    await write({ sources, fingerprint: sourcesFingerprint(root, sources), tools: [] });
    expect(readCatalogFile(file, root)).not.toBeNull();
    await fs.rm(path.join(dir, 'lib', 'b.js'));
    expect(readCatalogFile(file, root)).toBeNull();

    expect(readCatalogFile(pathToFileURL(path.join(dir, 'missing.json')), root)).toBeNull();
    await fs.writeFile(file, '{"sources": ');
    expect(readCatalogFile(file, root)).toBeNull();
  });
});

describe('validation before a definition loads', () => {
  const inputSchema = {
    n: z.number().int().min(1).default(3),
    name: z.string().max(5).optional(),
    tags: z.array(z.enum(['a', 'b'])).optional(),
  };
  const outputSchema = { ok: z.boolean(), count: z.number() };
  const handler = async (args: { n: number; name?: string }): Promise<CallToolResult> => {
    const structured = args.name === 'bad' ? { ok: 'no', count: args.n } : { ok: true, count: args.n };
    return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
  };
  let loads = 0;
  let failNextLoad = false;
  const tool = {
    load: async () => {
      loads++;
      if (failNextLoad) {
        failNextLoad = false;
        throw new Error('the module could not load');
      }
      return { inputSchema, outputSchema };
    },
  };
  let real: Client;
  let deferred: Client;
  beforeAll(async () => {
    const realServer = new McpServer({ name: 'real', version: '0' });
    realServer.registerTool('t', { inputSchema, outputSchema }, handler as never);
    real = await connect(realServer);
    const schemas = deferredToolSchemas(tool);
    const deferredServer = new McpServer({ name: 'deferred', version: '0' });
    deferredServer.registerTool('t', { inputSchema: schemas.input as never, outputSchema: schemas.output as never }, handler as never);
    deferred = await connect(deferredServer);
  });
  afterAll(async () => {
    await real.close();
    await deferred.close();
  });

  it('loads nothing before the first call, then retries a failed load at the next', async () => {
    expect(loads).toBe(0);
    failNextLoad = true;
    const failed = await deferred.callTool({ name: 't', arguments: {} });
    expect(failed.isError).toBe(true);
    expect(JSON.stringify(failed.content)).toContain('the module could not load');
    expect((await deferred.callTool({ name: 't', arguments: {} })).isError).toBeFalsy();
    expect(loads).toBe(2);
  });

  it.each([
    ['defaults applied', {}],
    ['valid', { n: 7, name: 'abc', tags: ['a'] }],
    ['below the minimum', { n: 0 }],
    ['wrong type', { n: 'x' }],
    ['two issues', { n: 2.5, name: 'too long' }],
    ['nested issue', { tags: ['a', 'c'] }],
    ['an output that breaks its schema', { name: 'bad' }],
  ])('answers as the SDK does with the real schemas: %s', async (_case, args) => {
    const expected = await real.callTool({ name: 't', arguments: args });
    expect(await deferred.callTool({ name: 't', arguments: args })).toEqual(expected);
  });

  it('the cases above are not all alike', async () => {
    expect((await real.callTool({ name: 't', arguments: {} })).structuredContent).toEqual({ ok: true, count: 3 });
    const bad = await real.callTool({ name: 't', arguments: { n: 2.5, name: 'too long' } });
    expect(bad.isError).toBe(true);
    expect(JSON.stringify(bad.content)).toMatch(/Input validation error.*at n.*at name/);
    const output = await real.callTool({ name: 't', arguments: { name: 'bad' } });
    expect(JSON.stringify(output.content)).toContain('Output validation error');
    expect(loads).toBe(2);
  });
});

describe('calls through the server with invalid arguments', () => {
  let repo: TempRepo;
  let served: Client;
  let reference: Client;
  beforeAll(async () => {
    repo = await createTempRepo();
    const config = await loadConfig({ cwd: repo.dir, env: {} });
    const app = new AppContext(config, silentLogger, { transport: 'in-process', readOnly: false, toolsets: undefined }, repo.dir);
    served = await connect(createServer(app));
    // The SDK validating against the definitions' own shapes; invalid input never reaches a handler.
    const server = new McpServer({ name: 'reference', version: '0' });
    for (const tool of ALL_TOOLS) server.registerTool(tool.name, { inputSchema: tool.inputSchema, outputSchema: tool.outputSchema }, (async () => ({ content: [] })) as never);
    reference = await connect(server);
  });
  afterAll(async () => {
    await served.close();
    await reference.close();
    await repo.cleanup();
  });

  it.each([
    ['git_status', { worktree: 5 }],
    ['get_log_event', {}],
    ['get_log_event', { id: 'x', offset: -1 }],
    ['query_runtime_logs', { limit: 501 }],
    ['run_tests', { timeout_s: 0, wait_s: 'soon' }],
  ])('%s %j gets the error the SDK gives with the real schema', async (name, args) => {
    const expected = await reference.callTool({ name, arguments: args });
    expect(expected.isError).toBe(true);
    expect(await served.callTool({ name, arguments: args })).toEqual(expected);
  });
});
