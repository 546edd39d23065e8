import type { AnyToolDefinition } from './define-tool.js';
import { TOOL_MODULES } from './_modules.js';

/** Every tool, in the order `tools/list` shows them (_modules.ts lists their files). */
export const ALL_TOOLS: readonly AnyToolDefinition[] = await Promise.all(Object.values(TOOL_MODULES).map(async (load) => (await load()).default));
