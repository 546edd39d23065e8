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
  latency_ms: 'DOUBLE', // first present of the configured latency paths
  error: 'VARCHAR', // failure message (metadata.error by default), null on success
  tool_name: 'VARCHAR',
  session_id: 'VARCHAR',
  turn_id: 'VARCHAR',
  trigger_message_id: 'VARCHAR',
  call_id: 'VARCHAR',
  fingerprint: 'VARCHAR', // fingerprint() of the event text, plus of the error when there is one
  is_failure: 'BOOLEAN', // level error, or event ending in _failed/_error, or a non-empty error
  instance: 'VARCHAR', // which bot instance wrote the line (several may run)
  operation: 'VARCHAR', // what was attempted, never free text; a success and a failure of one operation share it
  duplicate: 'BOOLEAN', // a failure already logged by an earlier line (one failure logged twice counts once)
  content: 'VARCHAR',
  metadata: 'JSON',
  line_bytes: 'INTEGER',
  cut: 'BOOLEAN', // the line was longer than limits.lineBytes and was stored cut
} as const;

export type LogColumn = keyof typeof LOG_COLUMNS;

/** The errors_only definition shared by queries and the anomaly rules. */
export function isFailure(level: string | null, event: string | null, error: string | null): boolean {
  return level === 'error' || /_(failed|error)$/.test(event ?? '') || (error !== null && error !== '');
}

/**
 * What engines that read the index need from it: a read-only SQL query over the `logs`
 * view (columns above) with positional `?` parameters, after the index was brought up
 * to date. The log index implements it; tests may implement it over a plain table.
 */
export interface LogQueryable {
  all<T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}
