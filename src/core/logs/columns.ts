/**
 * The contract between the log index and everything that queries it (query tools, the
 * anomaly rules, timelines, suspect commits): the columns of the `logs` view. Changing a
 * name here is a breaking change for every engine that reads the index.
 */
export const LOG_COLUMNS = {
  id: 'VARCHAR', // stable event id: "<file id>:<byte offset>"
  file: 'VARCHAR', // source file, relative to the repository root where possible
  offset: 'BIGINT', // byte offset of the line in that file
  ts: 'TIMESTAMP', // event time, UTC
  level: 'VARCHAR',
  kind: 'VARCHAR',
  event: 'VARCHAR',
  agent: 'VARCHAR',
  source: 'VARCHAR',
  guild_id: 'VARCHAR',
  channel_id: 'VARCHAR',
  message_id: 'VARCHAR',
  user_id: 'VARCHAR',
  usd_cost: 'DOUBLE', // 0 when free or absent
  latency_ms: 'DOUBLE', // a call's latency: first present of the latency paths; null where a duration is a length (a session's), see schema.latencyExclude
  error: 'VARCHAR', // a failure's readable message: metadata.error (its message when an object), else the text after the event's name in content; null on success
  tool_name: 'VARCHAR', // metadata.toolName, or the tool an event names (voice_tool_music_play_failed -> music_play)
  session_id: 'VARCHAR',
  turn_id: 'VARCHAR',
  trigger_message_id: 'VARCHAR', // the message the line answers: metadata.triggerMessageId, else metadata.messageId (an llm_call names it so)
  trigger_message_ids: 'VARCHAR[]', // a coalesced turn's messages, trigger_message_id first; null when the line answers one message or none
  call_id: 'VARCHAR',
  fingerprint: 'VARCHAR', // failures only ('' otherwise): "<event name or kind>: <fingerprint() of the error>", ids replaced
  is_failure: 'BOOLEAN', // level error, a kind or event name ending in _failed/_error, or a non-empty metadata error
  instance: 'VARCHAR', // which bot instance wrote the line (several may run)
  operation: 'VARCHAR', // what was attempted, never free text; a success and a failure of one operation share it
  duplicate: 'BOOLEAN', // a failure already logged by an earlier line (one failure logged twice counts once)
  content: 'VARCHAR',
  metadata: 'JSON',
  line_bytes: 'INTEGER',
  cut: 'BOOLEAN', // the line was longer than limits.lineBytes and was stored cut
} as const;

export type LogColumn = keyof typeof LOG_COLUMNS;

const FAILED_NAME = /_(failed|error)$/;

/**
 * The errors_only definition shared by queries and the anomaly rules. `eventName` is the
 * event's name part (`voice_tool_music_play_failed` of `voice_tool_music_play_failed: …`);
 * `kind` counts too because some failures are logged at level info (`browser_browse_failed`).
 */
export function isFailure(level: string | null, eventName: string | null, error: string | null, kind: string | null = null): boolean {
  return level === 'error' || FAILED_NAME.test(eventName ?? '') || FAILED_NAME.test(kind ?? '') || (error !== null && error !== '');
}

/**
 * What engines that read the index need from it: a read-only SQL query over the `logs`
 * view (columns above) with positional `?` parameters, after the index was brought up
 * to date. The log index implements it; tests may implement it over a plain table.
 */
export interface LogQueryable {
  all<T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}
