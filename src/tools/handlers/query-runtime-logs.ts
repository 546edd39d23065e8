import { UserInputError } from '../../core/errors.js';
import { aggregate, queryEvents, boundRows, type LogFilters } from '../../core/logs/query.js';
import { getLogIndex } from '../../server/engines.js';
import { humanDuration } from '../../core/text/durations.js';
import { indexingProgress, freshnessLine, structuredBudget, textBudget, textTable, untrustedText } from './_shared.js';
import type { ToolHandler } from '../define-tool.js';
import { type inputSchema, type outputSchema, logFilterShape } from '../query-runtime-logs.js';
import { UNTRUSTED_DETAIL } from '../../core/text/egress.js';

/**
 * DuckDB's message about a failed SELECT can quote log values ("Could not convert string
 * '<content>' to INT32"): it moves out of the error's message into its untrusted detail,
 * which the boundary shows delimited.
 */
function quoteEngineMessage(error: unknown): unknown {
  if (!(error instanceof UserInputError)) return error;
  const m = /^(The SQL does not parse|The SQL is not valid here|The query failed): ([\s\S]*)$/.exec(error.message);
  if (!m) return error;
  return new UserInputError(`${m[1]}; DuckDB's message (it can quote log values) follows.`, {
    cause: error,
    ...(error.hint ? { hint: error.hint } : {}),
    details: { ...error.details, [UNTRUSTED_DETAIL]: m[2] },
  });
}

export function filtersFrom(input: Record<string, unknown>): LogFilters {
  const filters: Record<string, unknown> = {};
  for (const key of Object.keys(logFilterShape)) if (input[key] !== undefined) filters[key] = input[key];
  return filters as LogFilters;
}

export const handler: ToolHandler<typeof inputSchema, typeof outputSchema> = async (input, { app, progress }) => {
  const started = performance.now();
  const index = await getLogIndex(app);
  await index.refresh({ onProgress: indexingProgress(progress) });
  const limits = app.config.limits;
  // Room for the fields around the rows (freshness, the reason, the cursor).
  const bounds = { fieldBytes: limits.fieldBytes, maxBytes: structuredBudget(limits.resultBytes, 1024) };
  const filters = filtersFrom(input);
  let result;
  if (input.mode === 'sql') {
    if (!input.sql) throw new UserInputError('mode "sql" needs the sql argument.', { hint: 'Pass sql: "SELECT kind, count(*) AS n FROM logs GROUP BY kind".' });
    const maxRows = Math.min(input.limit === 20 ? limits.resultRows : input.limit, limits.resultRows);
    const out = await index.sqlSelect(input.sql, { maxRows }).catch((error: unknown) => {
      throw quoteEngineMessage(error);
    });
    const bounded = boundRows(out.rows, bounds);
    const shown = bounded.rows.length;
    const rowsCut = bounded.truncated || out.more;
    // An agent's SELECT has no cursor: say where the next page starts.
    const paging = rowsCut ? `; the rest: add LIMIT ${shown} OFFSET ${shown} (with an ORDER BY, for a stable order) to the SELECT` : '';
    const rowsNote = out.more && !bounded.truncated ? `rows: capped at ${maxRows} (limit, limits.resultRows)` : null;
    result = {
      ...bounded,
      truncated: rowsCut,
      truncated_reason: rowsCut || bounded.truncated_reason ? `${[rowsNote, bounded.truncated_reason].filter(Boolean).join('; ')}${paging}` : null,
      total_matched: shown,
      next_cursor: null,
    };
  } else if (input.mode === 'aggregate') {
    const groups = await aggregate(index, { filters, group_by: input.group_by ?? [], ...(input.bucket ? { bucket: input.bucket } : {}), metrics: input.metrics ?? [], limit: Math.min(input.limit === 20 ? 100 : input.limit, limits.resultRows) }, bounds);
    // Groups have no stable order to page by: say how to ask for the rest.
    const rest = 'the rest: narrow the filters (since, until, kind, event), group by fewer keys or use a coarser bucket, or page exactly with mode "sql" (GROUP BY, ORDER BY, LIMIT/OFFSET)';
    result = groups.truncated ? { ...groups, truncated_reason: `${groups.truncated_reason ?? 'groups: more than fit'}; ${rest}` } : groups;
  } else {
    if (input.group_by || input.bucket || input.metrics) throw new UserInputError('group_by, bucket and metrics belong to mode "aggregate".', { hint: 'Add mode: "aggregate".' });
    const events = await queryEvents(index, { filters, ...(input.fields ? { fields: input.fields } : {}), limit: input.limit, ...(input.cursor ? { cursor: input.cursor } : {}) }, bounds);
    const notes = [events.truncated && events.next_cursor ? 'the next page: pass next_cursor' : null, events.cut_fields > 0 ? "get_log_event with a row's id shows its values in full" : null].filter(Boolean);
    result = notes.length ? { ...events, truncated_reason: [events.truncated_reason, ...notes].filter(Boolean).join('; ') } : events;
  }
  const freshness = index.freshness();
  const elapsed = Math.round((performance.now() - started) * 10) / 10;
  const columns = result.rows[0] ? Object.keys(result.rows[0]).filter((c) => c !== 'metadata' && c !== 'content') : [];
  const text = [
    `${input.mode}: ${result.rows.length} row(s)${input.mode === 'events' ? ` of ${result.total_matched} matching` : ''} in ${humanDuration(elapsed)}${result.truncated_reason ? ` — cut: ${result.truncated_reason}` : ''}${result.next_cursor ? ' — more: pass next_cursor' : ''}`,
    untrustedText(textTable(result.rows, columns, 60, textBudget(limits.resultBytes))),
    freshnessLine(freshness),
  ];
  return {
    structured: { mode: input.mode, rows: result.rows, untrusted: true as const, total_matched: result.total_matched, truncated: result.truncated, truncated_reason: result.truncated_reason, cut_fields: result.cut_fields, next_cursor: result.next_cursor, elapsed_ms: elapsed, freshness },
    text,
  };
};

