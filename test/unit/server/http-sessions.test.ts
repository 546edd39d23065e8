import { describe, expect, it } from 'vitest';
import { credentialKey, SessionTable, type SessionEndReason } from '../../../src/server/http-sessions.js';

class FakeSession {
  closed = false;
  async close(): Promise<void> {
    this.closed = true;
  }
}

function table(options: { idleMs?: number; maxSessions?: number } = {}) {
  let now = 1_000;
  const ended: SessionEndReason[] = [];
  const sessions = new SessionTable<FakeSession>({ idleMs: options.idleMs ?? 10_000, maxSessions: options.maxSessions ?? 3, now: () => now, onEnd: (reason) => ended.push(reason) });
  return { sessions, ended, advance: (ms: number) => (now += ms) };
}

const A = credentialKey('token-a-0123456789abcdef');
const B = credentialKey('token-b-0123456789abcdef');

function open(sessions: SessionTable<FakeSession>, id: string, credential = A): FakeSession {
  const place = sessions.reserve();
  if (!place) throw new Error('refused');
  const session = new FakeSession();
  sessions.add(id, session, credential);
  place.release();
  return session;
}

describe('SessionTable', () => {
  it('ends a session idle for idleMs, on access and on a sweep', () => {
    const { sessions, advance, ended } = table({ idleMs: 100 });
    const s1 = open(sessions, 's1');
    const s2 = open(sessions, 's2');
    advance(99);
    expect(sessions.get('s1', A)).toBe(s1);
    expect(sessions.sweep()).toBe(0);
    advance(1);
    expect(sessions.get('s1', A)).toBeUndefined();
    expect(s1.closed).toBe(true);
    expect(sessions.sweep()).toBe(1);
    expect(s2.closed).toBe(true);
    expect(ended).toEqual(['idle', 'idle']);
    expect(sessions.size).toBe(0);
  });

  it('never expires a session while a request is in flight or a stream is open; the end of either counts as use', () => {
    const { sessions, advance } = table({ idleMs: 100 });
    const s = open(sessions, 's');
    const endRequest = sessions.track('s', 'request');
    const endStream = sessions.track('s', 'stream');
    advance(1_000);
    expect(sessions.sweep()).toBe(0);
    endRequest();
    endRequest(); // idempotent
    advance(1_000);
    expect(sessions.sweep()).toBe(0);
    endStream();
    advance(99);
    expect(sessions.get('s', A)).toBe(s);
    advance(1);
    expect(sessions.sweep()).toBe(1);
  });

  it('when full, ends the least recently used session with nothing open, then one with only a stream, and refuses only when all are busy', () => {
    const { sessions, advance, ended } = table({ maxSessions: 3 });
    const oldest = open(sessions, 'oldest');
    advance(1);
    const middle = open(sessions, 'middle');
    advance(1);
    const newest = open(sessions, 'newest');
    advance(1);
    sessions.track('oldest', 'request');
    sessions.track('middle', 'stream');
    // `oldest` is busy, `middle` only listens: the idle `newest` goes although it is the most recent.
    open(sessions, 'fourth');
    expect(newest.closed).toBe(true);
    expect(ended).toEqual(['evicted']);
    sessions.track('fourth', 'request');
    // Now only `middle` has no request in flight.
    open(sessions, 'fifth');
    expect(middle.closed).toBe(true);
    sessions.track('fifth', 'request');
    expect(sessions.reserve()).toBeNull();
    expect(oldest.closed).toBe(false);
    expect(sessions.size).toBe(3);
  });

  it('counts sessions being initialized against the limit until they are added or released', () => {
    const { sessions } = table({ maxSessions: 2 });
    const first = sessions.reserve();
    const second = sessions.reserve();
    expect(first && second).toBeTruthy();
    expect(sessions.reserve()).toBeNull();
    second!.release();
    second!.release(); // idempotent
    expect(sessions.reserve()).not.toBeNull();
  });

  it('answers as for an unknown id when the credential differs, and leaves the session alone', () => {
    const { sessions, advance } = table({ idleMs: 100 });
    const s = open(sessions, 's', A);
    advance(50);
    expect(sessions.get('s', B)).toBeUndefined();
    expect(s.closed).toBe(false);
    expect(sessions.get('s', A)).toBe(s);
    expect(credentialKey('x').equals(credentialKey('x'))).toBe(true);
    expect(credentialKey('x').equals(credentialKey('y'))).toBe(false);
  });

  it('forgets a removed session without closing it, and only the instance named', () => {
    const { sessions } = table();
    const s = open(sessions, 's');
    sessions.remove('s', new FakeSession());
    expect(sessions.get('s', A)).toBe(s);
    sessions.remove('s', s);
    expect(sessions.get('s', A)).toBeUndefined();
    expect(s.closed).toBe(false);
  });
});
