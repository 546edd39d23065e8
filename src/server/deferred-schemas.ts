import { objectFromShape } from '@modelcontextprotocol/sdk/server/zod-compat.js';
import { z } from 'zod';
import type { $ZodType } from 'zod/v4/core';

export interface DeferredSchemas {
  input: $ZodType;
  output: $ZodType;
}

/** A tool whose definition (and so its schemas) loads when first needed. */
export interface DeferredTool {
  load(): Promise<{ inputSchema: z.ZodRawShape; outputSchema: z.ZodRawShape }>;
}

const made = new WeakMap<DeferredTool, DeferredSchemas>();

/**
 * What the SDK validates a tool's calls with, registered before the tool's definition loads:
 * the input schema loads the definition, then both parse with the objects the SDK makes of the
 * real shapes (as when the shapes themselves are registered) and pass on their data and their
 * issues, so a call gets the same arguments and the same errors. A result exists only after
 * its input was parsed. One pair per tool, shared by the servers of every session.
 */
export function deferredToolSchemas(tool: DeferredTool): DeferredSchemas {
  const known = made.get(tool);
  if (known) return known;
  let real: Promise<DeferredSchemas> | null = null;
  const load = (): Promise<DeferredSchemas> =>
    (real ??= tool.load().then(
      (definition) => ({ input: objectFromShape(definition.inputSchema) as $ZodType, output: objectFromShape(definition.outputSchema) as $ZodType }),
      (error: unknown) => {
        real = null; // tried again at the next call
        throw error;
      },
    ));
  const schemas: DeferredSchemas = {
    input: z.transform(async (input: unknown, ctx) => parseWith((await load()).input, input, ctx)),
    // An object schema: the SDK checks a result only against one.
    output: z.looseObject({}).superRefine(async (value, ctx) => void (await parseWith((await load()).output, value, ctx))),
  };
  made.set(tool, schemas);
  return schemas;
}

async function parseWith(schema: $ZodType, value: unknown, ctx: { addIssue(issue: z.core.$ZodRawIssue): void }): Promise<unknown> {
  const parsed = await z.safeParseAsync(schema, value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue(issue as z.core.$ZodRawIssue);
  return z.NEVER;
}
