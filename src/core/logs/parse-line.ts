import { createHash } from 'node:crypto';
import type { ConfigFile } from '../../config/schema.js';
import { fingerprint } from './fingerprint.js';
import { isFailure } from './columns.js';

/**
 * Turns one NDJSON line into an index row. Pure and total: every input gives a row or a
 * reason it was refused, never an exception. Hostile lines are expected: chat text, any
 * depth, keys that change type from one line to the next.
 */

export type BadLineReason = 'malformed_json' | 'invalid_utf8' | 'nul_byte' | 'not_an_object' | 'no_time' | 'too_long';

export interface LogRow {
  ts: number; // epoch ms
  level: string | null;
  kind: string | null;
  event: string | null;
  agent: string | null;
  source: string | null;
  guild_id: string | null;
  channel_id: string | null;
  message_id: string | null;
  user_id: string | null;
  usd_cost: number;
  latency_ms: number | null;
  error: string | null;
  tool_name: string | null;
  session_id: string | null;
  turn_id: string | null;
  trigger_message_id: string | null;
  call_id: string | null;
  fingerprint: string;
  is_failure: boolean;
  instance: string | null;
  operation: string;
  duplicate: boolean;
  content: string | null;
  metadata: string | null;
  cut: boolean;
  /** A hot field held a value of an unexpected type and was coerced (or dropped). */
  coerced: boolean;
}

type Schema = ConfigFile['schema'];

export interface LineParser {
  /** `cutToBytes`: set when the line is over limits.lineBytes; content and metadata are cut to fit. */
  parse(line: string, cutToBytes: number | null): LogRow | BadLineReason;
}

// Metadata deeper than this is replaced by a marker: DuckDB's JSON functions recurse and
// a deep enough document has been seen to kill the whole process.
export const MAX_METADATA_DEPTH = 32;
// Memoised fingerprints: event names and error messages repeat, fingerprinting does not need to.
const FINGERPRINT_CACHE_SIZE = 20_000;

function compilePath(dotted: string): string[] {
  return dotted.split('.').filter(Boolean);
}

function getPath(obj: unknown, path: readonly string[]): unknown {
  let node = obj;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/**
 * Copies `value` with subtrees deeper than `maxDepth` replaced by a marker string,
 * iteratively (so a 100,000-deep document costs no stack). Returns whether it cut.
 */
export function limitDepth(value: unknown, maxDepth: number): { value: unknown; cut: boolean } {
  if (value === null || typeof value !== 'object') return { value, cut: false };
  let cut = false;
  const root: unknown = Array.isArray(value) ? [] : {};
  const stack: Array<{ src: object; dst: Record<string, unknown> | unknown[]; depth: number }> = [{ src: value, dst: root as Record<string, unknown>, depth: 1 }];
  while (stack.length > 0) {
    const { src, dst, depth } = stack.pop()!;
    for (const [key, child] of Object.entries(src)) {
      let out: unknown = child;
      if (child !== null && typeof child === 'object') {
        if (depth >= maxDepth) {
          out = `[cut: nested deeper than ${maxDepth} levels]`;
          cut = true;
        } else {
          out = Array.isArray(child) ? [] : {};
          stack.push({ src: child, dst: out as Record<string, unknown>, depth: depth + 1 });
        }
      }
      if (Array.isArray(dst)) dst[Number(key)] = out;
      else dst[key] = out;
    }
  }
  return { value: root, cut };
}

function asText(value: unknown): { text: string | null; coerced: boolean } {
  if (value === undefined || value === null) return { text: null, coerced: false };
  if (typeof value === 'string') return { text: value, coerced: false };
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return { text: String(value), coerced: true };
  return { text: null, coerced: true };
}

function asNumber(value: unknown): { num: number | null; coerced: boolean } {
  if (value === undefined || value === null) return { num: null, coerced: false };
  if (typeof value === 'number') return Number.isFinite(value) ? { num: value, coerced: false } : { num: null, coerced: true };
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return { num: Number(value), coerced: true };
  return { num: null, coerced: true };
}

function parseTime(value: unknown): number | null {
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isFinite(ms) ? ms : null;
  }
  if (typeof value === 'number' && Number.isFinite(value)) return value > 1e12 ? value : value * 1000; // ms or s epoch
  return null;
}

function cutText(text: string, maxChars: number): { text: string; cut: boolean } {
  if (text.length <= maxChars) return { text, cut: false };
  return { text: `${text.slice(0, maxChars)}…[cut ${text.length - maxChars} chars at ingest]`, cut: true };
}

export function createLineParser(schema: Schema): LineParser {
  const paths = {
    time: compilePath(schema.time),
    level: compilePath(schema.level),
    kind: compilePath(schema.kind),
    event: compilePath(schema.event),
    agent: compilePath(schema.agent),
    content: compilePath(schema.content),
    metadata: compilePath(schema.metadata),
    cost: compilePath(schema.cost),
    error: compilePath(schema.errorPath),
    toolName: compilePath(schema.toolNamePath),
    latency: schema.latencyPaths.map(compilePath),
    sessionId: compilePath(schema.correlationKeys.sessionId),
    turnId: compilePath(schema.correlationKeys.turnId),
    triggerMessageId: compilePath(schema.correlationKeys.triggerMessageId),
    callId: compilePath(schema.correlationKeys.callId),
  };
  const fpCache = new Map<string, string>();
  const fp = (text: string): string => {
    let hit = fpCache.get(text);
    if (hit === undefined) {
      hit = fingerprint(text);
      if (fpCache.size >= FINGERPRINT_CACHE_SIZE) fpCache.clear();
      fpCache.set(text, hit);
    }
    return hit;
  };

  return {
    parse(line: string, cutToBytes: number | null): LogRow | BadLineReason {
      if (line.includes('\u0000')) return 'nul_byte';
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch {
        return 'malformed_json';
      }
      if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return 'not_an_object';
      const ts = parseTime(getPath(obj, paths.time));
      if (ts === null) return 'no_time';

      let coerced = false;
      const text = (p: readonly string[]) => {
        const r = asText(getPath(obj, p));
        coerced ||= r.coerced;
        return r.text;
      };
      let latency: number | null = null;
      for (const p of paths.latency) {
        const r = asNumber(getPath(obj, p));
        coerced ||= r.coerced;
        if (r.num !== null) {
          latency = r.num;
          break;
        }
      }
      const costValue = asNumber(getPath(obj, paths.cost));
      coerced ||= costValue.coerced;

      const level = text(paths.level);
      const kind = text(paths.kind);
      const event = text(paths.event);
      const errorValue = getPath(obj, paths.error);
      // An error may be logged as an object ({message, code}); keep its message.
      const error =
        errorValue !== null && typeof errorValue === 'object' && typeof (errorValue as { message?: unknown }).message === 'string'
          ? (errorValue as { message: string }).message
          : text(paths.error);

      // Budget: a line over lineBytes keeps its hot fields whole and cuts content and metadata.
      const over = cutToBytes !== null;
      const budget = over ? Math.max(1024, Math.floor(cutToBytes / 2)) : Number.MAX_SAFE_INTEGER;
      let cut = false;
      let content = text(paths.content);
      if (content !== null && over) {
        const c = cutText(content, budget);
        content = c.text;
        cut ||= c.cut;
      }
      let metadata: string | null = null;
      const metaValue = getPath(obj, paths.metadata);
      if (metaValue !== undefined && metaValue !== null) {
        const limited = limitDepth(metaValue, MAX_METADATA_DEPTH);
        cut ||= limited.cut;
        metadata = JSON.stringify(limited.value);
        if (over && metadata.length > budget) {
          metadata = JSON.stringify({ _cut: true, _bytes: metadata.length, preview: metadata.slice(0, budget) });
          cut = true;
        }
      }

      const errorText = error !== null && error !== '' ? (error.length > 2000 ? error.slice(0, 2000) : error) : null;
      const fingerprintText = `${fp(event ?? '')}${errorText ? ` | ${fp(errorText)}` : ''}`;
      return {
        ts,
        level,
        kind,
        event,
        agent: text(paths.agent),
        source: text(['source']),
        guild_id: text(['guild_id']),
        channel_id: text(['channel_id']),
        message_id: text(['message_id']),
        user_id: text(['user_id']),
        usd_cost: costValue.num ?? 0,
        latency_ms: latency,
        error: errorText,
        tool_name: text(paths.toolName),
        session_id: text(paths.sessionId),
        turn_id: text(paths.turnId),
        trigger_message_id: text(paths.triggerMessageId),
        call_id: text(paths.callId),
        fingerprint: fingerprintText,
        is_failure: isFailure(level, event, errorText),
        instance: text(['instance']),
        operation: operationOf(kind),
        duplicate: false,
        content,
        metadata,
        cut,
        coerced,
      };
    },
  };
}

/** `llm_call` and `llm_error` are one operation: the kind without its outcome suffix. */
export function operationOf(kind: string | null): string {
  return (kind ?? 'unknown').replace(/_(call|error|failed|runtime)$/, '');
}

export function headHash(bytes: Buffer): string {
  return createHash('sha1').update(bytes).digest('hex').slice(0, 16);
}
