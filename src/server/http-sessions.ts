import { createHash, timingSafeEqual } from 'node:crypto';

/** What a session holds: whatever must be closed when it ends. */
export interface Closable {
  close(): Promise<void>;
}

export type SessionEndReason = 'idle' | 'evicted';

export interface SessionTableOptions {
  /** A session with nothing in flight and no open stream for this long is ended. */
  idleMs: number;
  /** Most sessions at once, counting those being initialized. */
  maxSessions: number;
  /** The clock, for tests. */
  now?: () => number;
  /** Told when the table ends a session (not when the client ends it). */
  onEnd?: (reason: SessionEndReason, remaining: number) => void;
}

interface Entry<T extends Closable> {
  value: T;
  credential: Buffer;
  lastUsed: number;
  /** POST (and DELETE) responses not finished yet. */
  requests: number;
  /** Open GET event streams. */
  streams: number;
}

/** A digest of the credential a session was opened with, so it is never kept as is. */
export function credentialKey(credential: string): Buffer {
  return createHash('sha256').update(`selfscope-http-session\0${credential}`).digest();
}

/**
 * The HTTP sessions: each bound to the credential that opened it, ended after `idleMs`
 * without use, and, when the table is full, the least recently used idle one is ended to
 * make room — clients that go away without `DELETE /mcp` (most do) never lock others out.
 * A session is in use while a request is in flight or an event stream is open.
 */
export class SessionTable<T extends Closable> {
  private readonly entries = new Map<string, Entry<T>>();
  private reserved = 0;
  private readonly now: () => number;

  constructor(private readonly options: SessionTableOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The session `id` if it exists, has not expired, and was opened with `credential`;
   * otherwise undefined, exactly as for an unknown id (another credential never learns
   * that the id exists, and the session is left alone).
   */
  get(id: string, credential: Buffer): T | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (entry.credential.length !== credential.length || !timingSafeEqual(entry.credential, credential)) return undefined;
    if (this.expired(entry)) {
      this.end(id, entry, 'idle');
      return undefined;
    }
    return entry.value;
  }

  /**
   * Holds a place for a session being initialized. When the table is full, ends the least
   * recently used session that has nothing in flight — one with no open stream first.
   * Returns null when every session is busy. `release` is idempotent.
   */
  reserve(): { release(): void } | null {
    this.sweep();
    while (this.entries.size + this.reserved >= this.options.maxSessions) {
      const victim = this.leastRecentlyUsedIdle();
      if (!victim) return null;
      this.end(victim[0], victim[1], 'evicted');
    }
    this.reserved += 1;
    let held = true;
    return {
      release: () => {
        if (held) this.reserved -= 1;
        held = false;
      },
    };
  }

  /** Registers an initialized session. */
  add(id: string, value: T, credential: Buffer): void {
    this.entries.set(id, { value, credential, lastUsed: this.now(), requests: 0, streams: 0 });
  }

  /**
   * Marks a request (or an event stream) of session `id` as started; call the returned
   * function when its response is over. Both ends count as use.
   */
  track(id: string, kind: 'request' | 'stream'): () => void {
    const entry = this.entries.get(id);
    if (!entry) return () => {};
    const field = kind === 'request' ? 'requests' : 'streams';
    entry[field] += 1;
    entry.lastUsed = this.now();
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      entry[field] -= 1;
      entry.lastUsed = this.now();
    };
  }

  /** Forgets a session the client ended (DELETE) or whose transport closed; does not close it. */
  remove(id: string, value?: T): void {
    const entry = this.entries.get(id);
    if (entry && (value === undefined || entry.value === value)) this.entries.delete(id);
  }

  /** Ends every expired session; returns how many. */
  sweep(): number {
    let ended = 0;
    for (const [id, entry] of this.entries) {
      if (this.expired(entry)) {
        this.end(id, entry, 'idle');
        ended += 1;
      }
    }
    return ended;
  }

  /** Ends every session (server shutdown). */
  async closeAll(): Promise<void> {
    const values = [...this.entries.values()].map((e) => e.value);
    this.entries.clear();
    await Promise.all(values.map((v) => v.close().catch(() => {})));
  }

  private expired(entry: Entry<T>): boolean {
    return entry.requests === 0 && entry.streams === 0 && this.now() - entry.lastUsed >= this.options.idleMs;
  }

  private leastRecentlyUsedIdle(): [string, Entry<T>] | undefined {
    let best: [string, Entry<T>] | undefined;
    const rank = (e: Entry<T>) => (e.streams === 0 ? 0 : 1);
    for (const candidate of this.entries) {
      const entry = candidate[1];
      if (entry.requests > 0) continue;
      if (!best || rank(entry) < rank(best[1]) || (rank(entry) === rank(best[1]) && entry.lastUsed < best[1].lastUsed)) best = candidate;
    }
    return best;
  }

  private end(id: string, entry: Entry<T>, reason: SessionEndReason): void {
    this.entries.delete(id);
    void entry.value.close().catch(() => {});
    this.options.onEnd?.(reason, this.entries.size);
  }
}
