import { randomBytes } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ConfigFile } from '../config/schema.js';
import { isSelfscopeError, UserInputError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { sanitizeUntrusted } from '../core/text/bounded.js';
import { newNonce, untrusted, type RenderedText, type TextPart } from '../core/text/delimit.js';
import type { ResourceContents } from '../resources/define-resource.js';
import { assembleText, cleanAuthoredText, sanitizeJson, UNTRUSTED_DETAIL, UNTRUSTED_NOTICE } from '../core/text/egress.js';

/**
 * The server's boundary, where every result leaves: the one error boundary, and the one
 * egress gate. A log-derived result (a tool that declares `untrusted`, an untrusted
 * resource, a prompt's untrusted parts) is sanitised here — every string, in text and
 * structured content alike — carries the untrusted notice, is delimited with a fresh nonce
 * in its text, and is held to limits.resultBytes. Definitions cannot skip it: the
 * registration calls it on whatever they return.
 */

type Limits = Pick<ConfigFile['limits'], 'fieldBytes' | 'resultBytes'>;

// Error text (ours, but it may quote an engine's message) is cleaned and bounded too.
const ERROR_TEXT_BYTES = 4000;

function cleanErrorText(text: string): string {
  return sanitizeUntrusted(text, ERROR_TEXT_BYTES, { keepNewlines: true }).text;
}

/**
 * The one error boundary. A typed error becomes an `isError` result whose text says what
 * went wrong and what to do next; anything else gets a short id, and its stack goes to
 * stderr only — never to the client.
 */
export function errorToToolResult(error: unknown, toolName: string, logger: Logger): CallToolResult {
  if (isSelfscopeError(error)) {
    // An engine's own message can quote log values (DuckDB's conversion errors do): an error
    // that carries it as details.untrusted_detail shows it inside a delimited block.
    const { [UNTRUSTED_DETAIL]: detail, ...details } = error.details ?? {};
    const parts: TextPart[] = [cleanErrorText(error.message)];
    if (typeof detail === 'string') parts.push(untrusted(detail, ERROR_TEXT_BYTES));
    if (error.hint) parts.push(cleanErrorText(`What to do: ${error.hint}`));
    return {
      isError: true,
      content: [{ type: 'text', text: assembleText(parts, { blockBytes: ERROR_TEXT_BYTES, untrustedByDefault: false }) }],
      structuredContent: undefined,
      _meta: { 'selfscope/error': { code: error.code, ...(Object.keys(details).length ? { details: sanitizeJson(details, { fieldBytes: 1000 }) } : {}) } },
    };
  }
  const id = randomBytes(4).toString('hex');
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`[selfscope] unexpected error ${id} in ${toolName}: ${stack}\n`);
  logger.log('error', `unexpected error ${id} in ${toolName}`);
  return {
    isError: true,
    content: [
      {
        type: 'text',
        text: `selfscope hit an unexpected error (id ${id}) in ${toolName}. Nothing was changed by the failed step. Try again; if it repeats, report the id — the server's stderr has the details.`,
      },
    ],
  };
}

/** The message of an unexpected error for a resource read or prompt, with the same rules. */
export function errorToMessage(error: unknown, where: string): string {
  if (isSelfscopeError(error)) return cleanErrorText(error.hint ? `${error.message} What to do: ${error.hint}` : error.message);
  const id = randomBytes(4).toString('hex');
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`[selfscope] unexpected error ${id} in ${where}: ${stack}\n`);
  return `selfscope hit an unexpected error (id ${id}) in ${where}; the server's stderr has the details.`;
}

function bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** A result that would not fit: refused whole, so nothing leaves unbounded. */
function oversize(where: string, size: number, limits: Limits): UserInputError {
  process.stderr.write(`[selfscope] ${where} produced ${size} bytes, over limits.resultBytes (${limits.resultBytes}); refused\n`);
  return new UserInputError(`The result of ${where} would be ${size} bytes, more than limits.resultBytes (${limits.resultBytes}).`, {
    hint: 'Ask for less (a narrower filter, fewer fields, a smaller limit), or raise limits.resultBytes.',
  });
}

export interface EgressToolResult {
  structured: Record<string, unknown>;
  text: string;
}

/**
 * What a tool's result becomes on its way out. For an untrusted tool: every string of the
 * structured result sanitised and capped at limits.fieldBytes, `untrusted_notice` first,
 * the text's untrusted parts (the whole text, if it is one plain string) delimited with a
 * nonce drawn for this response, and the total held to limits.resultBytes (the text
 * rendering gives way first; a structured result that alone does not fit is refused).
 * Every other tool's total is held to limits.resultBytes the same way. Tools size their
 * lists to fit and say where the next page starts, so the refusal is a backstop.
 */
export function egressToolResult(
  tool: { name: string; untrusted?: boolean },
  result: { structured: unknown; text: RenderedText },
  limits: Limits,
): { ok: true; value: EgressToolResult } | { ok: false; error: UserInputError } {
  const untrustedTool = tool.untrusted === true;
  const structured = untrustedTool
    ? { untrusted_notice: UNTRUSTED_NOTICE, ...sanitizeJson(result.structured as Record<string, unknown>, { fieldBytes: limits.fieldBytes }) }
    : (result.structured as Record<string, unknown>);
  // Every tool is held to the total: a client drops a result that is too large (Claude Code,
  // over 25,000 tokens). Room is kept for the JSON-RPC envelope and a short text.
  const structuredBytes = bytes(JSON.stringify(structured));
  if (structuredBytes > limits.resultBytes - 512) return { ok: false, error: oversize(tool.name, structuredBytes, limits) };
  let text = assembleText(result.text, {
    nonce: newNonce(),
    blockBytes: untrustedTool ? Math.floor(limits.resultBytes / 2) : limits.resultBytes,
    untrustedByDefault: untrustedTool,
  });
  if (structuredBytes + bytes(text) > limits.resultBytes) {
    text = `${tool.name}: the text rendering was left out to keep this result within limits.resultBytes (${limits.resultBytes} bytes); structuredContent holds the whole result.${untrustedTool ? ` ${UNTRUSTED_NOTICE}` : ''}`;
  }
  return { ok: true, value: { structured, text } };
}

/** The same as a CallToolResult (errors become `isError` results). */
export function toolCallResult(tool: { name: string; untrusted?: boolean }, result: { structured: unknown; text: RenderedText }, limits: Limits, logger: Logger): CallToolResult {
  const out = egressToolResult(tool, result, limits);
  if (!out.ok) return errorToToolResult(out.error, tool.name, logger);
  return { content: [{ type: 'text', text: out.value.text }], structuredContent: out.value.structured };
}

export interface ResourceContentSent {
  uri: string;
  mimeType: string;
  text: string;
}

/**
 * A resource's contents on their way out. Untrusted JSON bodies are sanitised like
 * structured tool results and carry `untrusted_notice`; untrusted text bodies are delimited
 * with a nonce. A JSON body given as text is parsed and treated the same way. Throws (a
 * message for the caller) when the whole would exceed limits.resultBytes.
 */
export function egressResourceContents(resource: { name: string; untrusted?: boolean }, bodies: readonly ResourceContents[], limits: Limits): ResourceContentSent[] {
  const untrustedResource = resource.untrusted !== false;
  const nonce = newNonce();
  const marked = (value: unknown): string => {
    const clean = sanitizeJson(value, { fieldBytes: limits.fieldBytes });
    const body = clean !== null && typeof clean === 'object' && !Array.isArray(clean) ? clean : { value: clean };
    return JSON.stringify({ untrusted_notice: UNTRUSTED_NOTICE, ...body }, null, 1);
  };
  const out = bodies.map((body): ResourceContentSent => {
    if ('json' in body) return { uri: body.uri, mimeType: 'application/json', text: untrustedResource ? marked(body.json) : JSON.stringify(body.json, null, 1) };
    if ('rendered' in body) return { uri: body.uri, mimeType: body.mimeType, text: assembleText(body.rendered, { nonce, blockBytes: limits.resultBytes, untrustedByDefault: untrustedResource }) };
    if (!untrustedResource) return body;
    if (body.mimeType === 'application/json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.text);
      } catch {
        parsed = { text: body.text };
      }
      return { uri: body.uri, mimeType: body.mimeType, text: marked(parsed) };
    }
    return { uri: body.uri, mimeType: body.mimeType, text: assembleText(body.text, { nonce, blockBytes: limits.resultBytes, untrustedByDefault: true }) };
  });
  const total = out.reduce((n, c) => n + bytes(c.text), 0);
  if (untrustedResource && total > limits.resultBytes) throw oversize(resource.name, total, limits);
  return out;
}

/** A prompt's messages on their way out: authored text cleaned, untrusted parts delimited with one nonce per response. */
export function egressPrompt(
  prompt: { name: string },
  rendered: { description?: string; messages: ReadonlyArray<{ role: 'user' | 'assistant'; text: RenderedText }> },
  limits: Limits,
): { description?: string; messages: Array<{ role: 'user' | 'assistant'; content: { type: 'text'; text: string } }> } {
  const nonce = newNonce();
  const messages = rendered.messages.map((m) => ({
    role: m.role,
    content: { type: 'text' as const, text: assembleText(m.text, { nonce, blockBytes: Math.floor(limits.resultBytes / 2), untrustedByDefault: false }) },
  }));
  const total = messages.reduce((n, m) => n + bytes(m.content.text), 0);
  if (total > limits.resultBytes) throw oversize(prompt.name, total, limits);
  return {
    ...(rendered.description ? { description: sanitizeUntrusted(cleanAuthoredText(rendered.description), 300, { keepNewlines: false }).text } : {}),
    messages,
  };
}
