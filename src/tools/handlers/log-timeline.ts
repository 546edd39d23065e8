import { UserInputError } from '../../core/errors.js';
import { boundRows, timeline, TIMELINE_KEYS } from '../../core/logs/query.js';
import { getLogIndex } from '../../server/engines.js';
import { humanDuration } from '../../core/text/durations.js';
import { indexingProgress, structuredBudget, textBudget, textTable, untrustedText } from './_shared.js';
import type { ToolHandler } from '../define-tool.js';
import type { inputSchema, outputSchema } from '../log-timeline.js';

// Each event's text values (event, error) are cut at this many bytes: get_log_event shows one whole.
const EVENT_FIELD_BYTES = 300;

export const handler: ToolHandler<typeof inputSchema, typeof outputSchema> = async (input, { app, progress }) => {
  const given = TIMELINE_KEYS.filter((k) => input[k] !== undefined && input[k] !== '');
  if (given.length !== 1) {
    throw new UserInputError(`Give exactly one of ${TIMELINE_KEYS.join(', ')}${given.length ? ` (got ${given.join(', ')})` : ''}.`, {
      hint: 'Take the id from an event: query_runtime_logs with fields ["session_id", "turn_id", "call_id"].',
    });
  }
  const key = given[0]!;
  const index = await getLogIndex(app);
  await index.refresh({ onProgress: indexingProgress(progress) });
  const { fieldBytes, resultBytes } = app.config.limits;
  const valueBytes = Math.min(EVENT_FIELD_BYTES, fieldBytes);
  // The events up to the end of this page, then this page alone, as many as fit.
  const all = await timeline(index, key, input[key]!, { fieldBytes: valueBytes, maxBytes: Number.MAX_SAFE_INTEGER, maxEvents: input.offset + input.limit });
  const page = boundRows(all.events.slice(input.offset), { fieldBytes: valueBytes, maxBytes: structuredBudget(resultBytes, 1024) });
  const { events: _events, truncated: _truncated, truncated_reason: _reason, ...t } = all;
  const end = input.offset + page.rows.length;
  const nextOffset = end < t.total_events && page.rows.length > 0 ? end : null;
  const reasons = [
    page.rows.length === 0 && input.offset > 0 ? `offset ${input.offset} is past the last event (${t.total_events})` : null,
    nextOffset !== null ? `events ${input.offset + 1}-${end} of ${t.total_events} shown${page.truncated ? ' (the page was cut to fit limits.resultBytes)' : ''}; the next page: offset ${nextOffset}` : null,
    page.cut_fields > 0 ? `${page.cut_fields} value(s) cut at ${valueBytes} bytes; get_log_event with an event's id shows it in full` : null,
  ].filter((r): r is string => r !== null);
  const truncated = reasons.length > 0;
  const truncatedReason = truncated ? reasons.join('; ') : null;
  const head = `${key}=${input[key]}: ${t.total_events} events, ${t.totals.errors} errors, $${t.totals.cost_usd}, ${humanDuration(t.totals.duration_ms ?? 0)} (${t.totals.first ?? '-'} → ${t.totals.last ?? '-'})${truncated ? ` — cut: ${truncatedReason}` : ''}`;
  return {
    structured: { ...t, events: page.rows, untrusted: true as const, truncated, truncated_reason: truncatedReason, next_offset: nextOffset },
    text: [head, untrustedText(textTable(page.rows, ['ts', 'kind', 'event', 'latency_ms', 'error', 'usd_cost'], 60, textBudget(resultBytes)))],
  };
};

