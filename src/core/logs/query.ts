import { UserInputError } from '../errors.js';
import { sanitizeField, sanitizeJson } from '../text/egress.js';
import { LOG_COLUMNS, type LogColumn } from './columns.js';
import type { LogIndex } from './log-index.js';

/**
 * The questions an agent asks of the log index, compiled to parameterised SQL over the
 * `logs` view. Nothing from the caller is pasted into SQL except names checked against
 * fixed lists and metadata paths checked against a strict pattern.
 */

export interface WhereClause {
  path: string;
  equals?: string | number | boolean;
  exists?: boolean;
  gt?: number;
  lt?: number;
}

export interface LogFilters {
  since?: string;
  until?: string;
  kind?: string | string[];
  event?: string | string[];
  agent?: string | string[];
  level?: string | string[];
  operation?: string | string[];
  instance?: string | string[];
  errors_only?: boolean;
  text?: string;
  guild_id?: string;
  channel_id?: string;
  user_id?: string;
  where?: WhereClause[];
  min_latency_ms?: number;
}

const RELATIVE = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/i;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses `15m`, `24h`, `7d` as a duration in ms, or null. */
export function parseDuration(value: string): number | null {
  const match = RELATIVE.exec(value.trim());
  return match ? Number(match[1]) * UNIT_MS[match[2]!.toLowerCase()]! : null;
}

/** A time bound: relative (`15m` = 15 minutes before `now`) or ISO-8601. */
export function parseTimeBound(value: string, name: string, now = Date.now()): Date {
  const duration = parseDuration(value);
  if (duration !== null) return new Date(now - duration);
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new UserInputError(`"${value.slice(0, 40)}" is not a time for ${name}.`, { hint: 'Use a relative time (15m, 24h, 7d) or ISO-8601 (2026-03-13T14:00:00Z).' });
  }
  return new Date(ms);
}

const METADATA_PATH = /^metadata(\.[A-Za-z_][A-Za-z0-9_-]{0,63}){1,6}$/;

/** SQL for a metadata path such as `metadata.performance.totalMs` (validated), as text. */
export function metadataPathSql(pathText: string): string {
  if (!METADATA_PATH.test(pathText)) {
    throw new UserInputError(`"${pathText.slice(0, 80)}" is not a metadata path.`, {
      hint: 'Use metadata.<key>[.<key>...] with letters, digits, _ or - (up to 6 levels), e.g. metadata.toolName.',
    });
  }
  const keys = pathText.split('.').slice(1);
  return `json_extract_string(metadata, '$.${keys.map((k) => `"${k}"`).join('.')}')`;
}

function list(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v) => v !== '');
}

/** `exact`, `prefix*`, or a glob (`*`, `?`) on a text column. */
function matchAny(column: string, patterns: string[], params: unknown[]): string {
  const parts = patterns.map((p) => {
    if (/[*?]/.test(p)) {
      params.push(p.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%').replace(/\?/g, '_'));
      return `${column} LIKE ? ESCAPE '\\'`;
    }
    params.push(p);
    return `${column} = ?`;
  });
  return `(${parts.join(' OR ')})`;
}

export function buildWhere(filters: LogFilters, now = Date.now()): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filters.since) {
    clauses.push('ts >= ?');
    params.push(parseTimeBound(filters.since, 'since', now));
  }
  if (filters.until) {
    clauses.push('ts < ?');
    params.push(parseTimeBound(filters.until, 'until', now));
  }
  const kinds = list(filters.kind);
  if (kinds.length) clauses.push(matchAny('kind', kinds, params));
  const events = list(filters.event);
  if (events.length) clauses.push(matchAny('event', events, params));
  const agents = list(filters.agent);
  if (agents.length) clauses.push(matchAny('agent', agents, params));
  const levels = list(filters.level);
  if (levels.length) clauses.push(matchAny('level', levels, params));
  const operations = list(filters.operation);
  if (operations.length) clauses.push(matchAny('operation', operations, params));
  const instances = list(filters.instance);
  if (instances.length) clauses.push(matchAny('instance', instances, params));
  if (filters.errors_only) clauses.push('is_failure');
  if (filters.text) {
    clauses.push('(event ILIKE ? ESCAPE \'\\\' OR content ILIKE ? ESCAPE \'\\\' OR error ILIKE ? ESCAPE \'\\\')');
    const like = `%${filters.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    params.push(like, like, like);
  }
  for (const key of ['guild_id', 'channel_id', 'user_id'] as const) {
    if (filters[key]) {
      clauses.push(`${key} = ?`);
      params.push(filters[key]);
    }
  }
  if (filters.min_latency_ms !== undefined) {
    clauses.push('latency_ms >= ?');
    params.push(filters.min_latency_ms);
  }
  for (const where of filters.where ?? []) {
    const target = where.path in LOG_COLUMNS ? `"${where.path}"` : metadataPathSql(where.path);
    let used = false;
    if (where.exists !== undefined) {
      clauses.push(where.exists ? `${target} IS NOT NULL` : `${target} IS NULL`);
      used = true;
    }
    if (where.equals !== undefined) {
      clauses.push(`CAST(${target} AS VARCHAR) = ?`);
      params.push(String(where.equals));
      used = true;
    }
    if (where.gt !== undefined) {
      clauses.push(`TRY_CAST(${target} AS DOUBLE) > ?`);
      params.push(where.gt);
      used = true;
    }
    if (where.lt !== undefined) {
      clauses.push(`TRY_CAST(${target} AS DOUBLE) < ?`);
      params.push(where.lt);
      used = true;
    }
    if (!used) throw new UserInputError(`The where clause on ${where.path.slice(0, 80)} has no condition.`, { hint: 'Give one of equals, exists, gt, lt.' });
  }
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

// ---------------------------------------------------------------------------- events

export const EVENT_FIELDS = ['id', 'ts', 'level', 'kind', 'event', 'agent', 'instance', 'operation', 'latency_ms', 'usd_cost', 'error', 'is_failure', 'duplicate', 'tool_name', 'session_id', 'turn_id', 'trigger_message_id', 'trigger_message_ids', 'call_id', 'guild_id', 'channel_id', 'message_id', 'user_id', 'fingerprint', 'content', 'metadata', 'file', 'offset', 'cut'] as const;
export type EventField = (typeof EVENT_FIELDS)[number];
export const DEFAULT_EVENT_FIELDS: EventField[] = ['id', 'ts', 'level', 'kind', 'event', 'agent', 'operation', 'latency_ms', 'usd_cost', 'error', 'tool_name', 'session_id'];
interface Cursor {
  ts: string;
  id: string;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(text: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Cursor;
    if (typeof c.ts === 'string' && typeof c.id === 'string' && Number.isFinite(Date.parse(c.ts))) return c;
  } catch {
    // fall through
  }
  throw new UserInputError('The cursor is not one this server issued.', { hint: 'Pass next_cursor from the previous result unchanged, or omit it for the first page.' });
}

export interface BoundedRows {
  rows: Array<Record<string, unknown>>;
  truncated: boolean;
  truncated_reason: string | null;
  /** Values cut at the field cap (strings, and nested values larger than it). */
  cut_fields: number;
}

export interface RowBounds {
  fieldBytes: number;
  maxBytes: number;
}

const MORE_COLUMNS_KEY = '…';

/**
 * Sanitises every value of every row (every field of a log line, and every column an
 * agent's SQL names, is untrusted: keys included) and keeps rows while they fit in
 * `maxBytes`. A value is at most `fieldBytes`: a nested value (a list, a struct) larger than
 * that becomes its JSON text, cut. A first row that alone does not fit loses its last columns.
 */
export function boundRows(rows: Array<Record<string, unknown>>, options: RowBounds): BoundedRows {
  const out: Array<Record<string, unknown>> = [];
  const report = { cutFields: 0 };
  let used = 2;
  let rowReason: string | null = null;
  for (const row of rows) {
    const clean = sanitizeJson(row, { fieldBytes: options.fieldBytes }, report);
    for (const [key, value] of Object.entries(clean)) {
      if (value === null || typeof value !== 'object') continue;
      const json = JSON.stringify(value);
      if (Buffer.byteLength(json) <= options.fieldBytes) continue;
      clean[key] = sanitizeField(json, options.fieldBytes);
      report.cutFields++;
    }
    let size = Buffer.byteLength(JSON.stringify(clean)) + 1;
    if (used + size > options.maxBytes) {
      if (out.length > 0) {
        rowReason = `result size: ${out.length} of ${rows.length} rows fit in ${options.maxBytes} bytes (limits.resultBytes)`;
        break;
      }
      const keys = Object.keys(clean);
      let dropped = 0;
      while (keys.length > 0 && used + size > options.maxBytes) {
        delete clean[keys.pop()!];
        dropped++;
        clean[MORE_COLUMNS_KEY] = `[${dropped} more column(s) cut: the row does not fit in ${options.maxBytes} bytes]`;
        size = Buffer.byteLength(JSON.stringify(clean)) + 1;
      }
      rowReason = `result size: the first row alone exceeds ${options.maxBytes} bytes (limits.resultBytes); its last ${dropped} column(s) were cut`;
    }
    used += size;
    out.push(clean);
    if (rowReason) break;
  }
  const fieldNote = report.cutFields > 0 ? `fields: ${report.cutFields} value(s) cut at ${options.fieldBytes} bytes (limits.fieldBytes)` : null;
  const reason = [rowReason, fieldNote].filter((r): r is string => r !== null).join('; ') || null;
  return { rows: out, truncated: rowReason !== null, truncated_reason: reason, cut_fields: report.cutFields };
}

export interface EventsQuery {
  filters: LogFilters;
  fields?: EventField[];
  limit: number;
  cursor?: string;
}

export interface EventsResult extends BoundedRows {
  total_matched: number;
  next_cursor: string | null;
}

function selectList(fields: readonly string[]): string {
  return fields.map((f) => (f === 'ts' ? `strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') AS ts` : f === 'offset' ? '"offset"' : f)).join(', ');
}

export async function queryEvents(index: LogIndex, q: EventsQuery, bounds: { fieldBytes: number; maxBytes: number; timeoutMs?: number }): Promise<EventsResult> {
  const fields = q.fields && q.fields.length ? [...new Set(['id', 'ts', ...q.fields])] : DEFAULT_EVENT_FIELDS;
  const where = buildWhere(q.filters);
  const total = await index.query<{ n: number }>(`SELECT count(*) AS n FROM logs ${where.sql}`, where.params, { ...(bounds.timeoutMs ? { timeoutMs: bounds.timeoutMs } : {}) });
  let pageSql = where.sql;
  const params = [...where.params];
  if (q.cursor) {
    const c = decodeCursor(q.cursor);
    pageSql = `${pageSql ? `${pageSql} AND` : 'WHERE'} (ts < ? OR (ts = ? AND id < ?))`;
    params.push(new Date(c.ts), new Date(c.ts), c.id);
  }
  const page = await index.query<Record<string, unknown>>(
    `SELECT ${selectList(fields)}, strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS _cursor_ts FROM logs ${pageSql} ORDER BY logs.ts DESC, id DESC LIMIT ?`,
    [...params, q.limit + 1],
    { ...(bounds.timeoutMs ? { timeoutMs: bounds.timeoutMs } : {}) },
  );
  const more = page.rows.length > q.limit;
  const rows = page.rows.slice(0, q.limit);
  const bounded = boundRows(
    rows.map(({ _cursor_ts, ...rest }) => rest),
    bounds,
  );
  const last = page.rows[bounded.rows.length - 1];
  const hasNext = more || bounded.truncated;
  return {
    ...bounded,
    total_matched: Number(total.rows[0]?.n ?? 0),
    next_cursor: hasNext && last ? encodeCursor({ ts: String(last['_cursor_ts']), id: String(last['id']) }) : null,
  };
}

// ---------------------------------------------------------------------------- aggregate

export const METRICS = ['count', 'errors', 'error_rate', 'p50', 'p95', 'p99', 'cost'] as const;
export type Metric = (typeof METRICS)[number];
const GROUP_COLUMNS = ['kind', 'event', 'agent', 'level', 'operation', 'instance', 'fingerprint', 'tool_name', 'guild_id', 'channel_id', 'user_id', 'session_id'] as const;

// A failure logged twice (duplicate) counts once in errors and in the rate.
const METRIC_SQL: Record<Metric, string> = {
  count: 'count(*) AS count',
  errors: 'count(*) FILTER (WHERE is_failure AND NOT duplicate) AS errors',
  error_rate: 'round(count(*) FILTER (WHERE is_failure AND NOT duplicate) / greatest(count(*) FILTER (WHERE NOT duplicate), 1), 4) AS error_rate',
  p50: 'round(quantile_cont(latency_ms, 0.5), 1) AS p50_ms',
  p95: 'round(quantile_cont(latency_ms, 0.95), 1) AS p95_ms',
  p99: 'round(quantile_cont(latency_ms, 0.99), 1) AS p99_ms',
  cost: 'round(sum(usd_cost), 6) AS cost_usd',
};

/**
 * Exact percentiles cost a sort of every matching latency (about 55 ms a million rows on
 * two cores): above this many matching rows they are estimated from a uniform sample of
 * PERCENTILE_SAMPLE latencies per group (DuckDB's reservoir_quantile, about 9 ms a million
 * rows, within a few tenths of a percentile point), and every row says so
 * (`percentiles_estimated: true`). See bench/RESULTS.md.
 */
export const EXACT_PERCENTILE_ROWS = 1_000_000;
export const PERCENTILE_SAMPLE = 8192;
const PERCENTILES: Partial<Record<Metric, number>> = { p50: 0.5, p95: 0.95, p99: 0.99 };

function metricSql(metric: Metric, estimated: boolean): string {
  const q = PERCENTILES[metric];
  return estimated && q !== undefined ? `round(reservoir_quantile(latency_ms, ${q}, ${PERCENTILE_SAMPLE}), 1) AS ${metric}_ms` : METRIC_SQL[metric];
}

/** Whether the percentiles of this query are estimated: more rows match than EXACT_PERCENTILE_ROWS. */
async function estimatePercentiles(index: LogIndex, where: { sql: string; params: unknown[] }, exactRows: number, timeoutMs: number | undefined): Promise<boolean> {
  // The index's size bounds what matches: most indexes are small enough never to count.
  if (index.freshness().events <= exactRows) return false;
  const counted = await index.query<{ n: number }>(`SELECT count(*) AS n FROM logs ${where.sql}`, where.params, { ...(timeoutMs ? { timeoutMs } : {}) });
  return Number(counted.rows[0]?.n ?? 0) > exactRows;
}

export interface AggregateQuery {
  filters: LogFilters;
  group_by: string[];
  bucket?: string;
  metrics: Metric[];
  limit: number;
  order_by?: string;
  /** Matching rows up to which percentiles are exact (EXACT_PERCENTILE_ROWS). */
  exactPercentileRows?: number;
}

export async function aggregate(index: LogIndex, q: AggregateQuery, bounds: { fieldBytes: number; maxBytes: number; timeoutMs?: number }): Promise<EventsResult> {
  const groups: string[] = [];
  const names: string[] = [];
  for (const g of q.group_by) {
    if ((GROUP_COLUMNS as readonly string[]).includes(g)) {
      groups.push(g);
      names.push(g);
    } else if (g.startsWith('metadata.')) {
      const alias = g.replace(/[^A-Za-z0-9_]/g, '_');
      groups.push(`${metadataPathSql(g)} AS "${alias}"`);
      names.push(`"${alias}"`);
    } else {
      throw new UserInputError(`Cannot group by "${g.slice(0, 60)}".`, { hint: `Group by ${GROUP_COLUMNS.join(', ')}, a metadata path (metadata.toolName), and/or set bucket (5m, 1h, 1d).` });
    }
  }
  if (q.bucket) {
    const ms = parseDuration(q.bucket);
    if (ms === null || ms < 1000) throw new UserInputError(`"${q.bucket}" is not a bucket size.`, { hint: 'Use 1m, 5m, 10m, 1h or 1d.' });
    groups.unshift(`strftime(time_bucket(INTERVAL '${Math.round(ms / 1000)} seconds', ts), '%Y-%m-%dT%H:%M:%SZ') AS bucket`);
    names.unshift('bucket');
  }
  const metrics = q.metrics.length ? q.metrics : (['count', 'errors', 'error_rate', 'p95'] as Metric[]);
  const where = buildWhere(q.filters);
  const estimated = metrics.some((m) => PERCENTILES[m] !== undefined) && (await estimatePercentiles(index, where, q.exactPercentileRows ?? EXACT_PERCENTILE_ROWS, bounds.timeoutMs));
  const select = [...groups, ...metrics.map((m) => metricSql(m, estimated)), ...(estimated ? ['true AS percentiles_estimated'] : [])].join(', ');
  const order = q.bucket ? 'bucket ASC' : metrics.includes('count') ? 'count DESC' : '1';
  const sql = `SELECT ${select} FROM logs ${where.sql} ${names.length ? `GROUP BY ${names.map((_, i) => i + 1).join(', ')}` : ''} ORDER BY ${order} LIMIT ?`;
  const result = await index.query<Record<string, unknown>>(sql, [...where.params, q.limit + 1], { ...(bounds.timeoutMs ? { timeoutMs: bounds.timeoutMs } : {}) });
  const more = result.rows.length > q.limit;
  const bounded = boundRows(result.rows.slice(0, q.limit), bounds);
  return {
    ...bounded,
    truncated: bounded.truncated || more,
    truncated_reason: bounded.truncated_reason ?? (more ? `groups: more than ${q.limit} groups; raise limit or filter` : null),
    total_matched: result.rows.length,
    next_cursor: null,
  };
}

// ---------------------------------------------------------------------------- one event, timelines

/**
 * One event by id. An id is `<stream id>:<byte offset>`: the offset, a BIGINT column whose
 * row groups DuckDB skips by their min/max, narrows the scan to a few groups before the id
 * (shared by every stream at that offset) is compared; an id of another shape is looked up
 * by the id alone.
 */
export async function getEvent(index: LogIndex, id: string): Promise<Record<string, unknown> | null> {
  const offset = /:(\d{1,15})$/.exec(id)?.[1];
  const rows = await index.query<Record<string, unknown>>(
    offset === undefined
      ? `SELECT ${selectList(EVENT_FIELDS)} FROM logs WHERE id = ? LIMIT 1`
      : `SELECT ${selectList(EVENT_FIELDS)} FROM logs WHERE "offset" = ? AND id = ? LIMIT 1`,
    offset === undefined ? [id] : [BigInt(offset), id],
  );
  return rows.rows[0] ?? null;
}

export const TIMELINE_KEYS = ['session_id', 'turn_id', 'trigger_message_id', 'call_id', 'message_id'] as const satisfies readonly LogColumn[];
export type TimelineKey = (typeof TIMELINE_KEYS)[number];

export interface Timeline {
  key: TimelineKey;
  value: string;
  events: Array<Record<string, unknown>>;
  total_events: number;
  totals: { duration_ms: number | null; cost_usd: number; errors: number; first: string | null; last: string | null };
  truncated: boolean;
  truncated_reason: string | null;
}

/**
 * A message's turn: the message, the ids it was answered with (a coalesced turn lists
 * several in trigger_message_ids), and the ids answered by a line that has it as its own
 * message_id (a reply the bot sent). Every line about one of them belongs to the timeline:
 * the inbound message, its llm_call (metadata.messageId), the reply (triggerMessageIds).
 */
const TURN_IDS_SQL = `WITH turn AS (
  SELECT ?::VARCHAR AS id
  UNION SELECT unnest(coalesce(trigger_message_ids, [trigger_message_id])) FROM logs WHERE message_id = ? OR list_contains(trigger_message_ids, ?)
)`;
const IN_TURN_SQL = '(message_id IN (SELECT id FROM turn) OR trigger_message_id IN (SELECT id FROM turn) OR list_has_any(trigger_message_ids, (SELECT list(id) FROM turn)))';

export async function timeline(index: LogIndex, key: TimelineKey, value: string, bounds: { fieldBytes: number; maxBytes: number; maxEvents: number }): Promise<Timeline> {
  const byMessage = key === 'message_id' || key === 'trigger_message_id';
  const head = byMessage ? TURN_IDS_SQL : '';
  const where = byMessage ? IN_TURN_SQL : `${key} = ?`;
  const params = byMessage ? [value, value, value] : [value];
  const totals = await index.query<Record<string, unknown>>(
    `${head} SELECT count(*) AS n, round(sum(usd_cost), 6) AS cost, count(*) FILTER (WHERE is_failure AND NOT duplicate) AS errors,
            strftime(min(ts), '%Y-%m-%dT%H:%M:%S.%gZ') AS first, strftime(max(ts), '%Y-%m-%dT%H:%M:%S.%gZ') AS last,
            date_diff('millisecond', min(ts), max(ts)) AS duration_ms
     FROM logs WHERE ${where}`,
    params,
  );
  const t = totals.rows[0] ?? {};
  const rows = await index.query<Record<string, unknown>>(
    `${head} SELECT id, strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') AS ts, kind, event, agent, operation, latency_ms, error, duplicate, usd_cost, tool_name FROM logs WHERE ${where} ORDER BY logs.ts ASC, id ASC LIMIT ?`,
    [...params, bounds.maxEvents + 1],
  );
  const more = rows.rows.length > bounds.maxEvents;
  const bounded = boundRows(rows.rows.slice(0, bounds.maxEvents), bounds);
  return {
    key,
    value,
    events: bounded.rows,
    total_events: Number(t['n'] ?? 0),
    totals: {
      duration_ms: t['duration_ms'] === null || t['duration_ms'] === undefined ? null : Number(t['duration_ms']),
      cost_usd: Number(t['cost'] ?? 0),
      errors: Number(t['errors'] ?? 0),
      first: (t['first'] as string | null) ?? null,
      last: (t['last'] as string | null) ?? null,
    },
    truncated: bounded.truncated || more,
    truncated_reason: bounded.truncated_reason ?? (more ? `events: the first ${bounds.maxEvents} of ${Number(t['n'] ?? 0)} are shown` : null),
  };
}
