import fs from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult, JSONRPCMessage, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AnyToolDefinition } from '../tools/define-tool.js';
import { CATALOG_FILE, sourcesFingerprint, type CatalogFile, type CatalogTool } from './tool-catalog-file.js';
import { registerTaskTool, ToolTaskStore } from './tool-tasks.js';

/**
 * The one way tool definitions become what tools/list shows: the SDK registers them (a
 * long-running tool as a task tool) and answers tools/list, converting their zod schemas to
 * JSON Schema. `npm run build` stores the answer (writeToolList), so a starting server neither
 * builds the schemas nor converts them; without that file the server does this at start-up.
 */
export async function listTools(tools: readonly AnyToolDefinition[]): Promise<Tool[]> {
  const server = new McpServer({ name: 'selfscope-listing', version: '0' }, { capabilities: { tools: {} } });
  const taskStore = new ToolTaskStore();
  const notCalled = async (): Promise<CallToolResult> => {
    throw new Error('listing only');
  };
  for (const tool of tools) {
    const config = { title: tool.title, description: tool.description, inputSchema: tool.inputSchema, outputSchema: tool.outputSchema, annotations: { title: tool.title, ...tool.annotations } };
    if (tool.longRunning) registerTaskTool(server, taskStore, tool.name, config, notCalled);
    else server.registerTool(tool.name, config, notCalled as never);
  }
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  try {
    const answer = new Promise<JSONRPCMessage>((resolve) => (clientSide.onmessage = resolve));
    await clientSide.start();
    await clientSide.send({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
    const message = await answer;
    if (!('result' in message)) throw new Error(`tools/list failed: ${JSON.stringify(message).slice(0, 500)}`);
    // Through JSON, as a client receives it (properties left undefined are not sent).
    return (JSON.parse(JSON.stringify(message.result)) as { tools: Tool[] }).tools;
  } finally {
    await server.close();
    taskStore.close();
  }
}

/** The catalog of these tools: what registration decides on, and what tools/list shows of each. */
export async function toolCatalog(tools: readonly AnyToolDefinition[]): Promise<CatalogTool[]> {
  const listed = await listTools(tools);
  return tools.map((tool, i) => {
    const shown = listed[i];
    if (shown?.name !== tool.name) throw new Error(`tools/list shows ${shown?.name ?? 'nothing'} where ${tool.name} was registered.`);
    return { toolset: tool.toolset, longRunning: tool.longRunning === true, annotations: tool.annotations, listed: shown };
  });
}

// Relative static imports of a compiled module (dynamic imports, the handlers', load later).
const STATIC_IMPORT = /(?:^|[;\n])\s*(?:import|export)\s(?:[^;'"]*?\sfrom\s*)?['"](\.{1,2}\/[^'"]+)['"]/g;
const DYNAMIC_IMPORT = /\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function relativeImports(root: URL, file: string, pattern: RegExp): string[] {
  const url = new URL(file, root);
  return [...fs.readFileSync(url, 'utf8').matchAll(pattern)].map((match) => new URL(match[1]!, url).href.slice(root.href.length));
}

/** The compiled modules (relative to `root`) that `entries` load when imported, themselves included. */
export function staticImports(root: URL, entries: readonly string[]): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const imported of relativeImports(root, file, STATIC_IMPORT)) visit(imported);
  };
  for (const entry of entries) visit(entry);
  return [...seen].sort();
}

/** The modules `file` imports dynamically (relative to `root`). */
export function dynamicImports(root: URL, file: string): string[] {
  return relativeImports(root, file, DYNAMIC_IMPORT);
}

/**
 * Writes dist/server/tools-list.json from the compiled definitions (`npm run build`). It names
 * the modules the list depends on and hashes them: after tsc alone recompiles a changed
 * definition, the server finds the file stale and makes the list itself.
 */
export async function writeToolList(root: URL, tools: readonly AnyToolDefinition[]): Promise<CatalogFile> {
  // The listing code, and every tool's definition (_modules.js imports them on demand).
  const sources = staticImports(root, ['server/tool-listing.js', 'tools/index.js', ...dynamicImports(root, 'tools/_modules.js')]);
  const fingerprint = sourcesFingerprint(root, sources);
  if (fingerprint === null) throw new Error(`Cannot read the modules under ${root.pathname}.`);
  const file: CatalogFile = { sources, fingerprint, tools: await toolCatalog(tools) };
  fs.writeFileSync(new URL(`server/${CATALOG_FILE}`, root), `${JSON.stringify(file)}\n`);
  return file;
}
