import type { z } from 'zod';
import type { AppContext } from '../server/app-context.js';
import type { Logger } from '../core/logger.js';

/** Groups that `--toolsets` selects. `core` is always registered. */
export const TOOLSETS = ['core', 'logs', 'anomalies', 'checks', 'git'] as const;
export type Toolset = (typeof TOOLSETS)[number];

export interface ToolAnnotationsComplete {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

export interface ElicitRequest {
  message: string;
  requestedSchema: {
    type: 'object';
    properties: Record<string, { type: 'boolean' | 'string' | 'number'; title?: string; description?: string }>;
    required?: string[];
  };
}

export type ElicitResponse = { action: 'accept'; content: Record<string, unknown> } | { action: 'decline' | 'cancel' };

/** What a tool handler gets besides its input. */
export interface ToolContext {
  app: AppContext;
  /** Aborted when the client cancels the request or the server shuts down. */
  signal: AbortSignal;
  logger: Logger;
  /** Reports progress when the client asked for it (a no-op otherwise). */
  progress(progress: number, total?: number, message?: string): Promise<void>;
  /** Asks the human at the client, when the client supports elicitation; null when it cannot. */
  elicit(request: ElicitRequest): Promise<ElicitResponse | null>;
  /** The MCP session id over HTTP, undefined over stdio. */
  sessionId: string | undefined;
}

export interface ToolResult<O> {
  structured: O;
  /** A short human-readable rendering; untrusted text inside it is clearly delimited. */
  text: string;
}

export interface ToolDefinition<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  toolset: Toolset;
  title: string;
  description: string;
  inputSchema: I;
  outputSchema: O;
  annotations: ToolAnnotationsComplete;
  handler(input: z.infer<z.ZodObject<I>>, ctx: ToolContext): Promise<ToolResult<z.infer<z.ZodObject<O>>>>;
}

/** Declares a tool; the identity function exists for type inference and one shape of definition. */
export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(definition: ToolDefinition<I, O>): ToolDefinition<I, O> {
  return definition;
}

// The registry holds tools of different shapes; the server only needs the common surface.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyToolDefinition = ToolDefinition<any, any>;
