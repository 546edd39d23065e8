import type { AnyToolDefinition } from '../tools/define-tool.js';
import { TOOL_MODULES } from '../tools/_modules.js';
import { CATALOG_FILE, readCatalogFile, type CatalogTool } from './tool-catalog-file.js';

/**
 * Every tool, in the order tools/list shows them, as the server knows them at start-up: what
 * registration decides on and what tools/list shows, read from the list `npm run build`
 * writes. A tool's definition (its zod schemas, then its handler) loads at its first call: a
 * client waits for tools/list at every start.
 */
export interface ToolEntry extends CatalogTool {
  name: string;
  /** The tool's definition (src/tools/<name>.ts, one file per tool). */
  load(): Promise<AnyToolDefinition>;
}

const generated = readCatalogFile(new URL(`./${CATALOG_FILE}`, import.meta.url), new URL('../', import.meta.url));

/** Where the list came from: the build's file, or made at start-up (from source, or a stale file). */
export const TOOL_CATALOG_SOURCE: 'generated' | 'computed' = generated ? 'generated' : 'computed';

// Without the build's list, it is made here from the definitions, the way the build makes it.
const tools: readonly CatalogTool[] = generated?.tools ?? (await computed());

async function computed(): Promise<CatalogTool[]> {
  const [{ ALL_TOOLS }, { toolCatalog }] = await Promise.all([import('../tools/index.js'), import('./tool-listing.js')]);
  return toolCatalog(ALL_TOOLS);
}

function loader(name: string): () => Promise<AnyToolDefinition> {
  return async () => {
    const load = TOOL_MODULES[name];
    const definition = (await load?.())?.default;
    if (definition?.name !== name) throw new Error(`src/tools/_modules.ts names no module that defines the tool ${name}.`);
    return definition;
  };
}

export const TOOL_CATALOG: readonly ToolEntry[] = tools.map((tool) => ({ ...tool, name: tool.listed.name, load: loader(tool.listed.name) }));

export const TOOL_NAMES: readonly string[] = TOOL_CATALOG.map((t) => t.name);
