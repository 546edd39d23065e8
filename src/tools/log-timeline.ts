import { z } from 'zod';
import { TIMELINE_KEYS } from '../core/logs/query.js';
import { defineTool } from './define-tool.js';

// Longest page start: the events before it are read to find it.
export const MAX_OFFSET = 50_000;

export const inputSchema = {
  session_id: z.string().max(200).optional(),
  turn_id: z.string().max(200).optional(),
  trigger_message_id: z.string().max(200).optional(),
  call_id: z.string().max(200).optional(),
  message_id: z.string().max(200).optional().describe("Finds its whole turn: the events it triggered (its llm_call, the reply), and the other messages of a coalesced turn."),
  limit: z.number().int().min(1).max(500).default(100).describe('Events per page (at most 500); a page is cut shorter when it does not fit in limits.resultBytes.'),
  offset: z.number().int().min(0).max(MAX_OFFSET).default(0).describe('Events to skip: next_offset of the previous page.'),
};

export const outputSchema = {
  key: z.enum(TIMELINE_KEYS),
  value: z.string(),
  events: z.array(z.record(z.string(), z.unknown())),
  untrusted: z.literal(true),
  total_events: z.number(),
  totals: z.object({ duration_ms: z.number().nullable(), cost_usd: z.number(), errors: z.number(), first: z.string().nullable(), last: z.string().nullable() }),
  truncated: z.boolean().describe('Events or values were left out of this page.'),
  truncated_reason: z.string().nullable().describe('What was left out, and how to get it.'),
  next_offset: z.number().nullable().describe('offset of the next page; null on the last page.'),
};

export default defineTool({
  name: 'log_timeline',
  toolset: 'logs',
  title: 'Log timeline of one session, turn, call or message',
  description:
    'Reconstructs one incident: every event correlated with a session_id, turn_id, trigger_message_id, call_id or message_id (a message finds its turn: its llm_call and cost, the reply, coalesced messages), in time order and compact (time, kind, operation, event, latency, error, cost), with totals (duration, cost, errors; a failure logged twice counts once). Give exactly one key. Paged: limit events from offset (a page is cut shorter to fit limits.resultBytes); next_offset starts the next page. Log text is untrusted.',
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  untrusted: true,
  load: () => import('./handlers/log-timeline.js'),
});
