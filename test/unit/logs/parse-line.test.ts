import { describe, expect, it } from 'vitest';
import { schemaMappingSchema } from '../../../src/config/schema.js';
import { DuplicateFailures } from '../../../src/core/logs/duplicates.js';
import { createLineParser, createOperationNamer, eventNameOf, type LogRow } from '../../../src/core/logs/parse-line.js';

const defaults = schemaMappingSchema.parse(undefined);
const parse = (line: Record<string, unknown>, schema = defaults): LogRow => {
  const row = createLineParser(schema).parse(JSON.stringify({ ts: '2026-03-13T14:00:00.000Z', source: 'store_action', ...line }), null);
  if (typeof row === 'string') throw new Error(row);
  return row;
};

describe('event names', () => {
  it('are snake_case names, or the name before ":"; free text is none', () => {
    expect(eventNameOf('realtime_tool_call_failed')).toBe('realtime_tool_call_failed');
    expect(eventNameOf('voice_tool_music_play_failed: Video unavailable')).toBe('voice_tool_music_play_failed');
    expect(eventNameOf('claude-oauth:claude-sonnet-4-6')).toBeNull();
    expect(eventNameOf('how tall is the eiffel tower')).toBeNull();
    expect(eventNameOf('lol')).toBeNull();
    expect(eventNameOf('https://example.com/a_b')).toBeNull();
    expect(eventNameOf(null)).toBeNull();
  });
});

describe('operations', () => {
  const op = createOperationNamer(defaults.freeTextKinds);
  it('share one name between a success and its failure', () => {
    expect(op('llm_call', null, null)).toBe('llm');
    expect(op('llm_error', null, null)).toBe('llm');
    expect(op('voice_runtime', 'realtime_tool_call_completed', 'music_play')).toBe('tool:music_play');
    expect(op('voice_error', 'realtime_tool_call_failed', 'music_play')).toBe('tool:music_play');
    expect(op('voice_error', 'realtime_turn_failed', null)).toBe('realtime_turn');
    expect(op('llm_lifecycle', 'claude_oauth_warmup_completed', null)).toBe('claude_oauth_warmup');
    expect(op('llm_lifecycle', 'claude_oauth_warmup_failed', null)).toBe('claude_oauth_warmup');
  });

  it('never hold free text: a free-text kind, or an event that is not a name, gives the kind', () => {
    // A reply that happens to look like a name is still the reply's text.
    expect(op('sent_reply', 'see_you_tomorrow', null)).toBe('sent_reply');
    expect(op('voice_session_end', 'manual_leave', null)).toBe('voice_session_end');
    expect(op('voice_error', null, null)).toBe('voice');
    expect(op(null, null, null)).toBe('unknown');
    // A tool name that is not a name is ignored.
    expect(op('voice_runtime', 'realtime_tool_call_completed', 'play this song please')).toBe('realtime_tool_call');
  });

  it('follow schema.freeTextKinds', () => {
    const custom = createOperationNamer(['chat_*']);
    expect(custom('chat_message', 'hello_world', null)).toBe('chat_message');
    expect(custom('sent_reply', 'see_you_tomorrow', null)).toBe('see_you_tomorrow');
  });
});

describe('the parser', () => {
  it('reads a failure message from an Error the bot serialised, or from the text after the event name', () => {
    const fromObject = parse({ level: 'error', kind: 'bot_error', event: 'x_failed', content: 'x_failed', metadata: { error: { name: 'TypeError', message: 'boom', stack: 'TypeError: boom\n at f' } } });
    expect(fromObject).toMatchObject({ error: 'boom', is_failure: true, fingerprint: 'x_failed: boom' });
    const long = `realtime_turn_failed: ${'detail '.repeat(40)}end`;
    // event is content cut to 180 characters: the message comes from content, whole.
    const fromContent = parse({ level: 'error', kind: 'voice_error', event: long.slice(0, 180), content: long });
    expect(fromContent.error).toBe(long.slice('realtime_turn_failed: '.length));
    const bare = parse({ level: 'error', kind: 'voice_error', event: 'realtime_tool_call_failed', content: 'realtime_tool_call_failed', metadata: { error: null } });
    expect(bare).toMatchObject({ error: null, is_failure: true, fingerprint: 'realtime_tool_call_failed' });
  });

  it('gives a success no error, no fingerprint', () => {
    const ok = parse({ level: 'info', kind: 'voice_runtime', event: 'voice_join: joined 1180000000000000005', content: 'voice_join: joined 1180000000000000005', metadata: { error: null } });
    expect(ok).toMatchObject({ error: null, is_failure: false, fingerprint: '', operation: 'voice_join' });
  });

  it('does not take an info-level failure\'s free text for its message', () => {
    const row = parse({ level: 'info', kind: 'browser_browse_failed', event: 'read https://example.com to me', content: 'read https://example.com to me', metadata: { durationMs: 10 } });
    expect(row).toMatchObject({ is_failure: true, error: null, fingerprint: 'browser_browse_failed', operation: 'browser_browse' });
  });

  it('keeps latency overridable per kind (schema.latencyExclude) and a single errorPath string working', () => {
    const line = { level: 'info', kind: 'voice_runtime', event: 'voice_session_ended', content: 'voice_session_ended', metadata: { durationMs: 140000, failure: 'f' } };
    expect(parse(line).latency_ms).toBeNull();
    const custom = schemaMappingSchema.parse({ latencyExclude: [], errorPath: 'metadata.failure' });
    expect(parse(line, custom)).toMatchObject({ latency_ms: 140000, error: 'f', is_failure: true });
  });

  it('collects a coalesced turn\'s trigger message ids, the single one first, bounded and deduplicated', () => {
    const ids = Array.from({ length: 100 }, (_, i) => `m${i}`);
    const row = parse({ kind: 'sent_reply', event: 'hi', metadata: { triggerMessageId: 'm5', triggerMessageIds: [...ids, 'm5', 7, { x: 1 }] } });
    expect(row.trigger_message_id).toBe('m5');
    expect(row.trigger_message_ids).toHaveLength(80);
    expect(new Set(row.trigger_message_ids).size).toBe(80);
    // One message: trigger_message_id alone.
    expect(parse({ kind: 'llm_call', event: 'a:b', metadata: { messageId: 'm9' } })).toMatchObject({ trigger_message_id: 'm9', trigger_message_ids: null });
    expect(parse({ kind: 'sent_reply', event: 'hi', metadata: { triggerMessageId: 'm9', triggerMessageIds: ['m9'] } })).toMatchObject({ trigger_message_id: 'm9', trigger_message_ids: null });
    expect(parse({ kind: 'llm_call', event: 'a:b', metadata: null })).toMatchObject({ trigger_message_id: null, trigger_message_ids: null });
  });
});

describe('duplicate failures', () => {
  let n = 0;
  const failure = (over: Partial<LogRow>): LogRow => ({
    ...parse({ level: 'error', kind: 'voice_error', event: `e_failed`, content: `e_failed` }),
    operation: 'tool:music_play',
    instance: 'default',
    session_id: 's1',
    ts: 1_000_000 + n++,
    ...over,
  });

  it('marks the second logging within the window, once per failure', () => {
    const d = new DuplicateFailures(10_000);
    const first = failure({ call_id: 'c1', ts: 0 });
    const second = failure({ call_id: null, ts: 400 });
    const nextCall = failure({ call_id: 'c2', ts: 3000 });
    const late = failure({ call_id: null, session_id: 's2', ts: 3100 });
    for (const r of [first, second, nextCall, late]) d.mark(r);
    expect([first, second, nextCall, late].map((r) => r.duplicate)).toEqual([false, true, false, false]);
  });

  it('keeps failures apart across instances, operations, the window, and without any correlation id', () => {
    const d = new DuplicateFailures(10_000);
    const rows = [
      failure({ ts: 0 }),
      failure({ ts: 1, instance: 'other' }),
      failure({ ts: 2, operation: 'llm' }),
      failure({ ts: 20_000 }),
      failure({ ts: 20_001, session_id: null }),
      failure({ ts: 20_002, session_id: null }),
      { ...failure({ ts: 20_003 }), is_failure: false },
    ];
    for (const r of rows) d.mark(r);
    expect(rows.map((r) => r.duplicate)).toEqual([false, false, false, false, false, false, false]);
    const off = new DuplicateFailures(0);
    const pair = [failure({ ts: 0 }), failure({ ts: 1 })];
    for (const r of pair) off.mark(r);
    expect(pair.map((r) => r.duplicate)).toEqual([false, false]);
  });

  it('stays bounded, forgetting the least recently used first', () => {
    const d = new DuplicateFailures(10_000, 10);
    for (let i = 0; i < 1000; i++) d.mark(failure({ ts: i, session_id: `s${i}` }));
    expect((d as unknown as { recent: Map<string, unknown> }).recent.size).toBeLessThanOrEqual(10);
    const recent = failure({ ts: 1000, session_id: 's999' });
    d.mark(recent);
    expect(recent.duplicate).toBe(true);
    const forgotten = failure({ ts: 1001, session_id: 's0' });
    d.mark(forgotten);
    expect(forgotten.duplicate).toBe(false);
  });
});
