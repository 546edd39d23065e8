import type { ConfigFile } from '../../config/schema.js';
import { LOG_COLUMNS } from './columns.js';
import {
  asList,
  compilePath,
  EVENT_NAME,
  EVENT_OUTCOME,
  globsToRegExp,
  KIND_OUTCOME,
  MAX_EVENT_NAME,
  MAX_METADATA_DEPTH,
  MAX_TRIGGER_ID_CHARS,
  MAX_TRIGGER_IDS,
  TOOL_EVENT,
  TOOL_NAME,
} from './parse-line.js';

/**
 * The log model of parse-line.ts as one DuckDB statement, so that a bulk catch-up is parsed
 * and compressed by DuckDB's own threads instead of line by line on the JavaScript thread.
 *
 * The statement reads a block of whole lines (bound as one string, with the lines' byte
 * offsets beside it), parses each line once (`json_transform` of the top-level fields the
 * model reads, each as its JSON text, so a field's type is plain to see; then the same for
 * the keys it reads under metadata). It computes the row of an ordinary line exactly as the
 * parser would, and
 * marks `needs_js` on every line it cannot be sure of: not an object, a time that is not a
 * plain ISO-8601 UTC string, a field of an unexpected type (the parser coerces and counts
 * it), possibly a failure (its message, fingerprint and duplicate marking stay in
 * JavaScript), a line over the size limit, metadata that may be nested too deep, trigger
 * ids that need trimming. Those lines (a few percent of the bot's log, its failures) are
 * parsed again by the parser itself, in order, so every promise of the model holds for
 * them; the rest never touch JavaScript.
 *
 * The statement inserts the ordinary rows and returns their offsets; the index hands the
 * others to the parser. One reading differs by design: an object that gives a name twice
 * (JSON leaves it undefined) keeps the first value here and the last in the parser.
 */

export interface SqlIngest {
  /**
   * Inserts the ordinary lines of a block into events and returns their offsets (the lines not
   * returned are the parser's). Parameters: $1 the block's lines as a BLOB (valid UTF-8, no NUL,
   * without the last newline), $2 their byte offsets in the file, comma-separated, $3 the id prefix
   * ("<stream>:"), $4 the file as shown.
   */
  readonly insertSql: string;
}

// A path key the statement can quote without escaping; any other makes the mapping JavaScript-only.
const SAFE_KEY = /^[A-Za-z0-9_$@-]{1,100}$/;
// Times the statement reads; any other format (an epoch number, an offset, microseconds) goes to the parser.
const PLAIN_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z$';
// Kinds read here: the globs' JavaScript and RE2 readings agree on these characters.
const PLAIN_KIND = '^[A-Za-z0-9_.:-]*$';
// Trigger ids read here: nothing to trim, nothing escaped, short enough.
const PLAIN_ID = `[A-Za-z0-9_:.-]{1,${MAX_TRIGGER_ID_CHARS}}`;

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
const regex = (re: RegExp) => lit(re.source);

/**
 * Where each path's value comes from, as its JSON text: a top-level key of the line (one
 * parse of the line with `json_transform`), or a key under the metadata object (a second,
 * smaller parse of the metadata's text). `ok` is false when a path fits neither.
 */
class Paths {
  readonly top = new Set<string>();
  readonly meta = new Set<string>(); // dotted paths under metadata
  ok = true;
  constructor(readonly metadataKey: string) {}

  /** The SQL expression of `dotted`'s JSON text (NULL when absent). */
  add(dotted: string): string {
    const keys = compilePath(dotted);
    if (keys.length === 0 || !keys.every((k) => SAFE_KEY.test(k))) return this.fail();
    if (keys.length === 1) {
      this.top.add(keys[0]!);
      return `s."${keys[0]}"`;
    }
    if (keys[0] !== this.metadataKey || keys.length > 4) return this.fail();
    const rest = keys.slice(1);
    this.meta.add(rest.join('.'));
    return `m.${rest.map((k) => `"${k}"`).join('.')}`;
  }

  private fail(): string {
    this.ok = false;
    return 'NULL';
  }

  /** json_transform's structure for a set of dotted keys; null when a key is both a value and a parent. */
  static structure(paths: ReadonlySet<string>): string | null {
    type Node = { [key: string]: Node | 'JSON' };
    const root: Node = {};
    for (const dotted of paths) {
      const keys = dotted.split('.');
      let node = root;
      for (const [i, key] of keys.entries()) {
        const last = i === keys.length - 1;
        const existing = node[key];
        if (last) {
          if (existing !== undefined && existing !== 'JSON') return null;
          node[key] = 'JSON';
        } else {
          if (typeof existing === 'string') return null;
          node = (node[key] ??= {}) as Node;
        }
      }
    }
    return JSON.stringify(root);
  }
}

/** The statement for `schema`, or null when a path cannot be expressed safely (then every line goes through the parser). */
export function createSqlIngest(schema: ConfigFile['schema'], lineCap: number): SqlIngest | null {
  const metaKeys = compilePath(schema.metadata);
  if (metaKeys.length !== 1) return null;
  const p = new Paths(metaKeys[0]!);
  // A string's value without its quotes; null for anything else (such a line is the parser's, see notText).
  const str = (x: string) => `CASE WHEN starts_with(${x}, '"') THEN CASE WHEN contains(${x}, '\\') THEN ${x}->>'$' ELSE substr(${x}, 2, length(${x}) - 2) END END`;
  const textJson = new Set<string>(); // the JSON text of every text field, for notText
  const txt = (dotted: string) => {
    const json = p.add(dotted);
    textJson.add(json);
    return str(json);
  };
  const num = (dotted: string) => p.add(dotted);
  const t = {
    time: txt(schema.time),
    level: txt(schema.level),
    kind: txt(schema.kind),
    event: txt(schema.event),
    agent: txt(schema.agent),
    content: txt(schema.content),
    toolName: txt(schema.toolNamePath),
    instance: txt(schema.instance),
    source: txt('source'),
    guild_id: txt('guild_id'),
    channel_id: txt('channel_id'),
    message_id: txt('message_id'),
    user_id: txt('user_id'),
    session_id: txt(schema.correlationKeys.sessionId),
    turn_id: txt(schema.correlationKeys.turnId),
    call_id: txt(schema.correlationKeys.callId),
  };
  const triggers = asList(schema.correlationKeys.triggerMessageId).map(txt);
  // Numbers are read as their JSON text and cast here: a JSON number reads the same in the parser and in DuckDB.
  const numbers = [...new Set([schema.cost, ...schema.latencyPaths])].map(num);
  const cost = numbers[0]!;
  const latency = schema.latencyPaths.map(num);
  const metadata = p.add(schema.metadata);
  const errors = asList(schema.errorPath).map((e) => p.add(e));
  const triggerList = p.add(schema.correlationKeys.triggerMessageIds);
  const topStructure = Paths.structure(p.top);
  const metaStructure = Paths.structure(p.meta);
  if (!p.ok || topStructure === null || metaStructure === null) return null;

  const n = (expr: string) => `n${numbers.indexOf(expr)}`;
  const glob = (globs: readonly string[], x: string) => (globs.length === 0 ? 'false' : `regexp_matches(${x}, ${regex(globsToRegExp(globs))})`);
  const plainId = (x: string) => `regexp_full_match(${x}, ${lit(PLAIN_ID)})`;
  const listItems = `json_extract_string(${triggerList}, '$[*]')`;
  const listTypes = `json_type(${triggerList}, '$[*]')`;
  const jsonAbsent = (x: string) => `coalesce(${x} = 'null', true)`;
  // Metadata nested deeper than the parser keeps holds at least that many opening brackets.
  const minDeep = MAX_METADATA_DEPTH + 1;
  // A text field that holds a number, a boolean, an object or an array: the parser coerces or
  // drops it (and counts it), so such a line is the parser's.
  const notText = (json: string) => `NOT coalesce(${json} = 'null' OR starts_with(${json}, '"'), true)`;

  // Every condition under which the line goes to the parser instead (see the comment at the top).
  const needsJsTerms = [
    's IS NULL',
    `ts IS NULL`,
    `coalesce(starts_with(${metadata}, '"') OR regexp_matches(${metadata}, '^[-0-9tf]'), false)`,
    ...[...textJson].map(notText),
    // A number field holding anything but a JSON number (a numeric string included) is coerced by the parser.
    ...numbers.map((x) => `(${x} IS NOT NULL AND ${x} <> 'null' AND NOT coalesce(regexp_full_match(${x}, '-?[0-9][0-9.eE+-]*') AND isfinite(${n(x)}), false))`),
    ...errors.map((x) => `NOT ${jsonAbsent(x)}`),
    `coalesce(level = 'error', false)`,
    `coalesce(contains(event, '_failed') OR contains(event, '_error'), false)`,
    `coalesce(ends_with(kind, '_failed') OR ends_with(kind, '_error'), false)`,
    `NOT regexp_matches(coalesce(kind, ''), ${lit(PLAIN_KIND)})`,
    ...[...new Set(triggers)].map((x) => `coalesce(NOT ${plainId(x)}, false)`),
    `CASE WHEN NOT ${jsonAbsent(triggerList)} THEN NOT coalesce(starts_with(${triggerList}, '[') AND len(${listItems}) < ${MAX_TRIGGER_IDS} AND list_bool_and(list_transform(${listTypes}, x -> x = 'VARCHAR')) IS NOT false AND list_bool_and(list_transform(${listItems}, x -> ${plainId('x')})) IS NOT false, false) ELSE false END`,
    // Counted with string_split (n brackets, n + 1 parts), which finds a character with memchr: a regex
    // counting them cost ~1.5 µs a line, 6% of a cold index, and string_split a tenth of that.
    `coalesce(strlen(${metadata}) >= ${2 * minDeep} AND len(string_split(${metadata}, '{')) + len(string_split(${metadata}, '[')) >= ${minDeep + 2}, false)`,
  ];
  const needsJs = needsJsTerms.join('\n    OR ');

  const eventName = `CASE WHEN strlen(split_part(event, ':', 1)) <= ${MAX_EVENT_NAME} AND regexp_matches(split_part(event, ':', 1), ${regex(EVENT_NAME)}) THEN split_part(event, ':', 1) END`;
  const toolName = `coalesce(${t.toolName}, nullif(regexp_extract(event_name, ${regex(TOOL_EVENT)}, 1), ''))`;
  const kindKey = `coalesce(kind, 'unknown')`;
  const operation = `CASE
      WHEN regexp_matches(coalesce(tool_name, ''), ${regex(TOOL_NAME)}) THEN 'tool:' || tool_name
      WHEN ${glob(schema.freeTextKinds, kindKey)} OR event_name IS NULL THEN coalesce(nullif(regexp_replace(${kindKey}, ${regex(KIND_OUTCOME)}, ''), ''), ${kindKey})
      ELSE coalesce(nullif(regexp_replace(event_name, ${regex(EVENT_OUTCOME)}, ''), ''), event_name) END`;
  const notLatency = `(${glob(schema.latencyExclude, `coalesce(kind, '')`)} OR (event_name IS NOT NULL AND ${glob(schema.latencyExclude, 'event_name')}))`;
  const listValues = `CASE WHEN NOT ${jsonAbsent(triggerList)} THEN ${listItems} ELSE []::VARCHAR[] END`;
  const allIds = `list_concat([coalesce(${triggers.join(', ')})], ${listValues})`;

  const columns = Object.keys(LOG_COLUMNS);
  const select: Record<string, string> = {
    id: `$3::VARCHAR || o`,
    file: `$4::VARCHAR`,
    offset: 'o',
    ts: 'ts',
    level: 'level',
    kind: 'kind',
    event: 'event',
    agent: t.agent,
    source: t.source,
    guild_id: t.guild_id,
    channel_id: t.channel_id,
    message_id: t.message_id,
    user_id: t.user_id,
    usd_cost: `coalesce(${n(cost)}, 0)`,
    latency_ms: `CASE WHEN ${notLatency} THEN NULL ELSE coalesce(${latency.map(n).join(', ')}) END`,
    error: 'NULL',
    tool_name: 'tool_name',
    session_id: t.session_id,
    turn_id: t.turn_id,
    trigger_message_id: 'trigger_ids[1]',
    trigger_message_ids: 'CASE WHEN len(trigger_ids) > 1 THEN trigger_ids END',
    call_id: t.call_id,
    fingerprint: `''`,
    is_failure: 'false',
    instance: t.instance,
    operation,
    duplicate: 'false',
    content: t.content,
    metadata: `CASE WHEN NOT ${jsonAbsent(metadata)} THEN ${metadata} END`,
    line_bytes: 'strlen(line)',
    cut: 'false',
  };
  const missing = columns.filter((c) => !(c in select));
  if (missing.length > 0) throw new Error(`sql-ingest has no expression for ${missing.join(', ')}`);

  const columnList = columns.map((c) => `"${c}"`).join(', ');
  const metaKey = `s."${p.metadataKey}"`;
  // Each step names what the next needs once: DuckDB computes a named expression once per row.
  // $2 holds each line's offset (the block's lines, in order, comma-separated), computed where the lines were found.
  const insertSql = `INSERT INTO events (${columnList})
WITH split AS (
  SELECT unnest(string_split(decode($1::BLOB), chr(10))) AS line, unnest(string_split($2::VARCHAR, ','))::BIGINT AS o
), parsed AS (
  SELECT o, line, CASE WHEN starts_with(line, '{') AND strlen(line) <= ${lineCap} THEN TRY(json_transform(line, ${lit(topStructure)})) END AS s
  FROM split WHERE line <> '' AND line <> chr(13)
), nested AS (
  SELECT *, ${p.meta.size === 0 ? 'NULL' : `CASE WHEN starts_with(${metaKey}, '{') THEN json_transform(${metaKey}, ${lit(metaStructure)}) END`} AS m FROM parsed
), fields AS (
  SELECT *, ${t.level} AS level, ${t.kind} AS kind, ${t.event} AS event, CASE WHEN regexp_matches(${t.time}, ${lit(PLAIN_TIME)}) THEN TRY_CAST(${t.time} AS TIMESTAMP) END AS ts, ${numbers.map((x) => `TRY_CAST(${x}::VARCHAR AS DOUBLE) AS ${n(x)}`).join(', ')} FROM nested
), judged AS (
  SELECT *, (${needsJs}) AS needs_js FROM fields
), named AS (
  SELECT *, ${eventName} AS event_name FROM judged WHERE NOT needs_js
), tooled AS (
  SELECT *, ${toolName} AS tool_name, ${allIds} AS all_ids FROM named
)
SELECT ${columns.map((c) => select[c]).join(',\n  ')}
FROM (SELECT *, CASE WHEN len(all_ids) = 1 THEN (CASE WHEN all_ids[1] IS NOT NULL THEN all_ids END) ELSE list_filter(all_ids, (x, i) -> x IS NOT NULL AND list_position(all_ids, x) = i) END AS trigger_ids FROM tooled)
RETURNING "offset"`;

  return { insertSql };
}
