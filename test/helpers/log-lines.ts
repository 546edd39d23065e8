/** Builders of runtime-action log lines in the bot's format, for tests. */
export interface LineOptions {
  ts: Date | string;
  kind?: string;
  event?: string;
  level?: 'info' | 'error';
  agent?: string;
  usd_cost?: number;
  content?: string | null;
  metadata?: Record<string, unknown> | null;
  user_id?: string | null;
  message_id?: string | null;
}

export function logLine(o: LineOptions): string {
  const kind = o.kind ?? 'voice_runtime';
  return JSON.stringify({
    ts: typeof o.ts === 'string' ? o.ts : o.ts.toISOString(),
    source: 'store_action',
    level: o.level ?? (kind.includes('error') ? 'error' : 'info'),
    kind,
    event: o.event ?? 'realtime_tool_call_completed',
    agent: o.agent ?? 'voice',
    guild_id: '1180000000000000001',
    channel_id: '1180000000000000002',
    message_id: o.message_id ?? null,
    user_id: o.user_id ?? '1180000000000000003',
    usd_cost: o.usd_cost ?? 0,
    content: o.content === undefined ? (o.event ?? 'realtime_tool_call_completed') : o.content,
    metadata: o.metadata === undefined ? null : o.metadata,
  });
}

/** `count` lines one `stepMs` apart ending at `end`, built by `make(i, ts)`. */
export function series(count: number, end: number, stepMs: number, make: (i: number, ts: Date) => LineOptions): string[] {
  return Array.from({ length: count }, (_, i) => {
    const ts = new Date(end - (count - 1 - i) * stepMs);
    return logLine(make(i, ts));
  });
}
