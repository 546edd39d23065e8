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
  trigger_message_ids: string[] | null;
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
// Memoised fingerprints: error messages repeat, fingerprinting does not need to.
const FINGERPRINT_CACHE_SIZE = 20_000;
// Longest error message kept in the error column (the whole line stays in content/metadata).
const MAX_ERROR_CHARS = 2000;
// Longest list of trigger message ids kept (the bot caps arrays at 80).
export const MAX_TRIGGER_IDS = 80;
// Longest trigger message id kept.
export const MAX_TRIGGER_ID_CHARS = 200;
// An event's name: snake_case, at least two words (`voice_turn_addressing`); chat text, a
// query, a URL or a model (`claude-oauth:claude-sonnet-4-6`) is not one.
export const EVENT_NAME = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$/;
export const MAX_EVENT_NAME = 100;
export const TOOL_NAME = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;
// `voice_tool_music_play_failed`: an event that names the tool it is about.
export const TOOL_EVENT = /^voice_tool_([a-z0-9]+(?:_[a-z0-9]+)*?)_(?:failed|error|completed|succeeded|done)$/;
export const KIND_OUTCOME = /_(?:call|calls|error|errors|failed|failure|runtime)$/;
export const EVENT_OUTCOME = /_(?:failed|failure|error|errored|completed|complete|succeeded|success|done|finished)$/;

export function compilePath(dotted: string): string[] {
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
 * Whether `value` holds an object or array nested deeper than `maxDepth` (the test
 * limitDepth cuts at), without copying: almost no line needs the copy.
 */
function deeperThan(value: unknown, maxDepth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const nodes: object[] = [value];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop()! as Record<string, unknown>;
    const depth = depths.pop()!;
    for (const key in node) {
      const child = node[key];
      if (child === null || typeof child !== 'object') continue;
      if (depth >= maxDepth) return true;
      nodes.push(child);
      depths.push(depth + 1);
    }
  }
  return false;
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

/** `voice_*`, `llm_error`: exact names or globs with `*`, as one anchored pattern (never matches when empty). */
export function globsToRegExp(globs: readonly string[]): RegExp {
  if (globs.length === 0) return /(?!)/;
  const alternatives = globs.map((g) => g.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*'));
  return new RegExp(`^(?:${alternatives.join('|')})$`);
}

/** The name part of an event: all of it (`realtime_tool_call_failed`), or what precedes `:` (`gateway_shard_error: shard=3 …`); null for free text. */
export function eventNameOf(event: string | null): string | null {
  if (event === null) return null;
  const colon = event.indexOf(':');
  const head = colon < 0 ? event : event.slice(0, colon);
  return head.length <= MAX_EVENT_NAME && EVENT_NAME.test(head) ? head : null;
}

function cutText(text: string, maxChars: number): { text: string; cut: boolean } {
  if (text.length <= maxChars) return { text, cut: false };
  return { text: `${text.slice(0, maxChars)}…[cut ${text.length - maxChars} chars at ingest]`, cut: true };
}

export const asList = (v: string | readonly string[]): readonly string[] => (typeof v === 'string' ? [v] : v);

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
    errors: asList(schema.errorPath).map(compilePath),
    toolName: compilePath(schema.toolNamePath),
    instance: compilePath(schema.instance),
    latency: schema.latencyPaths.map(compilePath),
    sessionId: compilePath(schema.correlationKeys.sessionId),
    turnId: compilePath(schema.correlationKeys.turnId),
    triggerMessageId: asList(schema.correlationKeys.triggerMessageId).map(compilePath),
    triggerMessageIds: compilePath(schema.correlationKeys.triggerMessageIds),
    callId: compilePath(schema.correlationKeys.callId),
  };
  const notLatency = globsToRegExp(schema.latencyExclude);
  const operations = createOperationNamer(schema.freeTextKinds);
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
      // A text field; a number or boolean is coerced to text, anything else dropped (and counted as coerced).
      const text = (p: readonly string[]): string | null => {
        const v = getPath(obj, p);
        if (v === undefined || v === null) return null;
        if (typeof v === 'string') return v;
        coerced = true;
        return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : null;
      };
      const costValue = asNumber(getPath(obj, paths.cost));
      coerced ||= costValue.coerced;

      const level = text(paths.level);
      const kind = text(paths.kind);
      const event = text(paths.event);
      const eventName = eventNameOf(event);
      let toolName = text(paths.toolName);
      const toolFromEvent = eventName === null ? null : TOOL_EVENT.exec(eventName);
      if (toolName === null && toolFromEvent) toolName = toolFromEvent[1]!;

      // A duration of a length (a whole session) is not a latency: see schema.latencyExclude.
      let latency: number | null = null;
      if (!notLatency.test(kind ?? '') && !(eventName !== null && notLatency.test(eventName))) {
        for (const p of paths.latency) {
          const r = asNumber(getPath(obj, p));
          coerced ||= r.coerced;
          if (r.num !== null) {
            latency = r.num;
            break;
          }
        }
      }

      let metaError: string | null = null;
      for (const p of paths.errors) {
        metaError = errorText(getPath(obj, p));
        if (metaError !== null) break;
      }

      // Budget: a line over lineBytes keeps its hot fields whole and cuts content and metadata.
      const over = cutToBytes !== null;
      const budget = over ? Math.max(1024, Math.floor(cutToBytes / 2)) : Number.MAX_SAFE_INTEGER;
      let cut = false;
      const fullContent = text(paths.content);
      let content = fullContent;
      if (content !== null && over) {
        const c = cutText(content, budget);
        content = c.text;
        cut ||= c.cut;
      }
      let metadata: string | null = null;
      const metaValue = getPath(obj, paths.metadata);
      if (metaValue !== undefined && metaValue !== null) {
        const limited = deeperThan(metaValue, MAX_METADATA_DEPTH) ? limitDepth(metaValue, MAX_METADATA_DEPTH) : { value: metaValue, cut: false };
        cut ||= limited.cut;
        metadata = JSON.stringify(limited.value);
        if (over && metadata.length > budget) {
          metadata = JSON.stringify({ _cut: true, _bytes: metadata.length, preview: metadata.slice(0, budget) });
          cut = true;
        }
      }

      const failure = isFailure(level, eventName, metaError, kind);
      let error: string | null = null;
      let fingerprintText = '';
      if (failure) {
        error = metaError ?? messageInText(level, event, eventName, fullContent);
        if (error !== null && error.length > MAX_ERROR_CHARS) error = error.slice(0, MAX_ERROR_CHARS);
        // Never free text before the message: the event's name, else the kind.
        const head = eventName ?? kind ?? 'unknown';
        fingerprintText = error === null ? head : `${head}: ${fp(error)}`;
      }

      const triggers = triggerIds(obj, paths.triggerMessageId, paths.triggerMessageIds);
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
        error,
        tool_name: toolName,
        session_id: text(paths.sessionId),
        turn_id: text(paths.turnId),
        trigger_message_id: triggers === null ? null : triggers[0]!,
        // A list only for a coalesced turn: one id is trigger_message_id alone (most lines, and cheaper to store).
        trigger_message_ids: triggers !== null && triggers.length > 1 ? triggers : null,
        call_id: text(paths.callId),
        fingerprint: fingerprintText,
        is_failure: failure,
        instance: text(paths.instance),
        operation: operations(kind, eventName, toolName),
        duplicate: false,
        content,
        metadata,
        cut,
        coerced,
      };
    },
  };
}

/** A metadata error: a string, a code, or an Error the bot serialised as {name, message, stack}. */
function errorText(value: unknown): string | null {
  if (typeof value === 'string') return value.trim() === '' ? null : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value); // an error code
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const { message, name } = value as { message?: unknown; name?: unknown };
    if (typeof message === 'string' && message.trim() !== '') return message;
    if (typeof name === 'string' && name.trim() !== '') return name;
  }
  return null;
}

/**
 * A failure's message when no metadata field holds it: the bot's most common shape is
 * `${event}: ${err.message}` in content (and in event, cut to 180 characters), so the text
 * after the name; an error-level line whose event is not a name (llm_error) is all message.
 */
function messageInText(level: string | null, event: string | null, eventName: string | null, content: string | null): string | null {
  if (eventName !== null) {
    const source = content !== null && content.startsWith(eventName) ? content : event;
    if (source === null || source.length <= eventName.length) return null;
    const rest = source.slice(eventName.length + 1).trim();
    return rest === '' ? null : rest;
  }
  if (level !== 'error') return null; // an info-level failure's content is not its message (browser_browse_failed: the instruction)
  const whole = (content ?? event ?? '').trim();
  return whole === '' ? null : whole;
}

/** The messages a line answers: the first present of the single-id paths, then the list, deduplicated; null when none. */
function triggerIds(obj: unknown, single: readonly string[][], listPath: readonly string[]): string[] | null {
  const out: string[] = [];
  const push = (v: unknown): boolean => {
    const id = typeof v === 'string' ? v.trim() : typeof v === 'number' && Number.isFinite(v) ? String(v) : '';
    if (id === '' || id.length > MAX_TRIGGER_ID_CHARS || out.length >= MAX_TRIGGER_IDS || out.includes(id)) return false;
    out.push(id);
    return true;
  };
  for (const p of single) if (push(getPath(obj, p))) break;
  const list = getPath(obj, listPath);
  if (Array.isArray(list)) for (const v of list) push(v);
  return out.length === 0 ? null : out;
}

/**
 * The operation a line attempted, never free text, the same for a success and its failure:
 *  1. a tool call is `tool:<name>` — from metadata.toolName, or an event that names the tool
 *     (`realtime_tool_call_completed`/`_failed` with toolName music_play, and
 *     `voice_tool_music_play_failed: …`, are all `tool:music_play`);
 *  2. a kind whose event is free text (schema.freeTextKinds: replies, queries, URLs, models,
 *     error messages), or an event that is not a name, gives the kind without its outcome
 *     suffix (`llm_call` and `llm_error` are `llm`; `browser_browse_call`/`_failed` are `browser_browse`);
 *  3. otherwise the event's name without its outcome suffix (`realtime_turn_failed: …` is
 *     `realtime_turn`; `gateway_shard_error: shard=3 …` is `gateway_shard`).
 */
export function createOperationNamer(freeTextKinds: readonly string[]): (kind: string | null, eventName: string | null, toolName: string | null) => string {
  const freeText = globsToRegExp(freeTextKinds);
  const byKind = new Map<string, { free: boolean; base: string }>();
  return (kind, eventName, toolName) => {
    if (toolName !== null && TOOL_NAME.test(toolName)) return `tool:${toolName}`;
    const k = kind ?? 'unknown';
    let info = byKind.get(k);
    if (info === undefined) {
      info = { free: freeText.test(k), base: k.replace(KIND_OUTCOME, '') || k };
      if (byKind.size < 10_000) byKind.set(k, info);
    }
    if (info.free || eventName === null) return info.base;
    return eventName.replace(EVENT_OUTCOME, '') || eventName;
  };
}

export function headHash(bytes: Buffer): string {
  return createHash('sha1').update(bytes).digest('hex').slice(0, 16);
}
