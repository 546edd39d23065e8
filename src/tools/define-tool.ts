import { z } from 'zod';
import type { AppContext } from '../server/app-context.js';
import type { Logger } from '../core/logger.js';
import type { RenderedText } from '../core/text/delimit.js';
import { UNTRUSTED_NOTICE } from '../core/text/egress.js';

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
  /**
   * A short human-readable rendering: a string, or parts in which log text is marked
   * `untrusted(...)` (the boundary delimits it). An untrusted tool's plain string is
   * delimited as a whole.
   */
  text: RenderedText;
}

/** A tool's input as its handler gets it (parsed, defaults applied), and the result it returns. */
export type ToolInput<I extends z.ZodRawShape> = z.infer<z.ZodObject<I>>;
export type ToolOutput<O extends z.ZodRawShape> = z.infer<z.ZodObject<O>>;
export type ToolHandler<I extends z.ZodRawShape, O extends z.ZodRawShape> = (input: ToolInput<I>, ctx: ToolContext) => Promise<ToolResult<ToolOutput<O>>>;

/** What `tools/list` shows of a tool, and what the server decides on before any call. */
export interface ToolSpec<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  toolset: Toolset;
  title: string;
  description: string;
  inputSchema: I;
  outputSchema: O;
  annotations: ToolAnnotationsComplete;
  /**
   * The result carries text from the logs (or derived from it). The server boundary then
   * sanitises every string of it (text and structured), caps fields and the total, adds
   * `untrusted_notice` and delimits the text. Default: true for the logs and anomalies toolsets.
   */
  untrusted?: boolean;
  /**
   * The call may outlast a client's tool-call timeout (a full test run): the server offers
   * it as an MCP task (`execution.taskSupport: "optional"`), so a client that supports
   * tasks starts it, polls it and fetches its result; other clients call it as any tool.
   */
  longRunning?: boolean;
}

/**
 * What registration is decided on (src/server/filters.ts). The server knows it at start-up
 * without loading the tool's definition (src/server/tool-catalog.ts).
 */
export type ToolSummary = Pick<ToolSpec, 'name' | 'toolset' | 'annotations'>;

export interface ToolDefinition<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape> extends ToolSpec<I, O> {
  handler: ToolHandler<I, O>;
}

/**
 * A tool file declares the tool and names the module of its work:
 * `load: () => import('./handlers/<tool-file>.js')`, which exports `handler`. That module
 * and the engines it imports load on the tool's first call, not when a client lists the
 * tools: a client waits for `tools/list` at every start.
 */
export interface LazyToolDefinition<I extends z.ZodRawShape, O extends z.ZodRawShape> extends ToolSpec<I, O> {
  load(): Promise<{ handler: ToolHandler<I, O> }>;
}

// Toolsets whose results come from the logs: their tools are untrusted unless they say otherwise.
const LOG_TOOLSETS: readonly Toolset[] = ['logs', 'anomalies'];

/** The field every untrusted structured result starts with (the boundary fills it in). */
export const untrustedNoticeSchema = z.string().describe(`Always: "${UNTRUSTED_NOTICE}"`);

/**
 * Declares a tool (one shape of definition, and type inference). An untrusted tool's output
 * schema gains `untrusted_notice`, which the boundary adds to every result. Its handler loads
 * its module on the first call (a failed load is tried again on the next).
 */
export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(definition: LazyToolDefinition<I, O>): ToolDefinition<I, O> {
  const { load, ...spec } = definition;
  let loading: Promise<{ handler: ToolHandler<I, O> }> | null = null;
  const handler: ToolHandler<I, O> = async (input, ctx) => {
    loading ??= load().catch((error: unknown) => {
      loading = null;
      throw error;
    });
    return (await loading).handler(input, ctx);
  };
  const untrusted = spec.untrusted ?? LOG_TOOLSETS.includes(spec.toolset);
  if (!untrusted) return { ...spec, untrusted: false, handler };
  return { ...spec, untrusted: true, outputSchema: { untrusted_notice: untrustedNoticeSchema, ...spec.outputSchema }, handler };
}

// The registry holds tools of different shapes; the server only needs the common surface.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyToolDefinition = ToolDefinition<any, any>;
