import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ToolAnnotationsComplete, Toolset } from '../tools/define-tool.js';

/** One tool as the server knows it before its definition loads. */
export interface CatalogTool {
  toolset: Toolset;
  longRunning: boolean;
  annotations: ToolAnnotationsComplete;
  /** Exactly what tools/list shows of the tool (the SDK's conversion of its definition). */
  listed: Tool;
}

/** The list `npm run build` writes beside the compiled server (scripts/write-tool-list.mjs). */
export interface CatalogFile {
  /** The compiled modules the list was made from, relative to dist/, and a hash of their contents. */
  sources: string[];
  fingerprint: string;
  tools: CatalogTool[];
}

export const CATALOG_FILE = 'tools-list.json';

/** A hash of the files' names and contents, or null when one cannot be read. */
export function sourcesFingerprint(root: URL, sources: readonly string[]): string | null {
  const hash = createHash('sha256');
  for (const source of sources) {
    let text: Buffer;
    try {
      text = fs.readFileSync(new URL(source, root));
    } catch {
      return null;
    }
    hash.update(source).update('\0').update(text).update('\0');
  }
  return hash.digest('hex');
}

/**
 * The list at `file`, or null when it is missing or was made from other sources than those
 * under `root` now (the definitions were recompiled by tsc alone since `npm run build`).
 */
export function readCatalogFile(file: URL, root: URL): CatalogFile | null {
  let parsed: CatalogFile;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as CatalogFile;
  } catch {
    return null;
  }
  if (!Array.isArray(parsed.sources) || !Array.isArray(parsed.tools) || parsed.sources.length === 0) return null;
  return sourcesFingerprint(root, parsed.sources) === parsed.fingerprint ? parsed : null;
}
