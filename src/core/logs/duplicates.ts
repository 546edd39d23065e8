import type { LogRow } from './parse-line.js';

/**
 * One failure logged twice counts once. The bot often logs a failure at two call sites —
 * `realtime_tool_call_failed` (with its callId) and then `voice_tool_music_play_failed: …`
 * (with only the sessionId) — so a failure is a duplicate when an earlier failure of the
 * same operation and instance, sharing a correlation id (session, turn, trigger message or
 * call), was logged within `windowMs`. Two failures that both carry a call id are the same
 * only when the ids are equal: two tool calls that fail one after the other stay two.
 *
 * State lives across lines (the parser is per line) and is bounded: at most `maxKeys` ids
 * are kept, the least recently used let go first. It starts empty when the index opens,
 * so a pair split across a restart is counted twice.
 */
export class DuplicateFailures {
  private readonly recent = new Map<string, { ts: number; callId: string | null }>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys = 20_000,
  ) {}

  /** Sets `row.duplicate` for a failure already logged, and remembers this one. */
  mark(row: LogRow): void {
    if (!row.is_failure || this.windowMs <= 0) return;
    const ids: string[] = [];
    if (row.call_id !== null) ids.push(`c\u0000${row.call_id}`);
    if (row.session_id !== null) ids.push(`s\u0000${row.session_id}`);
    if (row.turn_id !== null) ids.push(`t\u0000${row.turn_id}`);
    if (row.trigger_message_id !== null) ids.push(`m\u0000${row.trigger_message_id}`);
    if (ids.length === 0) return; // nothing ties it to another line: a failure of its own
    const scope = `${row.instance ?? ''}\u0000${row.operation}\u0000`;
    let callId = row.call_id;
    for (const id of ids) {
      const seen = this.recent.get(scope + id);
      if (seen === undefined || Math.abs(row.ts - seen.ts) > this.windowMs) continue;
      if (row.call_id !== null && seen.callId !== null && row.call_id !== seen.callId) continue;
      row.duplicate = true;
      callId ??= seen.callId;
      break;
    }
    for (const id of ids) {
      const key = scope + id;
      this.recent.delete(key); // re-inserted last: the map's order is the order of use
      this.recent.set(key, { ts: row.ts, callId });
    }
    if (this.recent.size > this.maxKeys) this.prune();
  }

  /** What it remembers now, to go back to when lines read since are read again. */
  snapshot(): () => void {
    const saved = new Map(this.recent);
    return () => {
      this.recent.clear();
      for (const [key, value] of saved) this.recent.set(key, value);
    };
  }

  /** Lets go of the least recently used half: entries are in the order of use, so the oldest go first. */
  private prune(): void {
    let drop = this.recent.size - Math.floor(this.maxKeys / 2);
    for (const key of this.recent.keys()) {
      if (drop-- <= 0) break;
      this.recent.delete(key);
    }
  }
}
