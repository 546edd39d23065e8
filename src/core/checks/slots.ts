import { ConflictError } from '../errors.js';

/**
 * At most `size` checks run at once in one process (checks.maxConcurrent); the rest wait
 * their turn in order. A test suite can take every core: an agent that starts many at once
 * (concurrent calls, tasks, wait_s) queues them instead of starving the bot's machine.
 */
export class Slots {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly size: number) {}

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves with the release function once a slot is free; rejects if `signal` aborts first. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw new ConflictError('Cancelled before the check started; nothing ran.');
    if (this.active < this.size && this.waiting.length === 0) {
      this.active++;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(wake);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new ConflictError('Cancelled while waiting for another check to finish; nothing ran.'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(wake);
    });
    // The releasing run handed its slot over: `active` already counts this one.
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }
}
