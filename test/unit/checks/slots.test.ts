import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configFileSchema } from '../../../src/config/schema.js';
import { CheckRunner } from '../../../src/core/checks/check-runner.js';
import { Slots } from '../../../src/core/checks/slots.js';
import { ConflictError } from '../../../src/core/errors.js';
import { createTempRepo, type TempRepo } from '../../helpers/temp-repo.js';

const repos: TempRepo[] = [];
afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.cleanup()));
});

describe('check slots', () => {
  it('let `size` runs hold a slot, hand a freed slot to the longest waiting, and drop a cancelled waiter', async () => {
    const slots = new Slots(2);
    const a = await slots.acquire();
    const b = await slots.acquire();
    const order: string[] = [];
    const cancel = new AbortController();
    const c = slots.acquire().then((release) => (order.push('c'), release));
    const d = slots.acquire(cancel.signal).then(
      () => order.push('d'),
      (e: unknown) => order.push(e instanceof ConflictError ? 'd cancelled' : 'd ?'),
    );
    const e = slots.acquire().then((release) => (order.push('e'), release));
    expect([slots.running, slots.queued]).toEqual([2, 3]);
    cancel.abort();
    await d;
    expect(slots.queued).toBe(2);
    a();
    const releaseC = await c;
    expect(slots.running).toBe(2);
    b();
    const releaseE = await e;
    expect(order).toEqual(['d cancelled', 'c', 'e']);
    releaseC();
    releaseE();
    releaseE(); // a second release gives nothing back twice
    expect([slots.running, slots.queued]).toEqual([0, 0]);
  });
});

describe('checks in one worktree', () => {
  it('refuse a fourth run while three run or wait, and a cancel ends the waiting ones without running them', async () => {
    const repo = await createTempRepo({ files: { 'a.txt': 'a\n' } });
    repos.push(repo);
    // A check that runs until cancelled; sandbox off keeps the test about the queue alone.
    const config = configFileSchema.parse({ checks: { test: [process.execPath, '-e', 'setInterval(() => {}, 1000)'], sandbox: 'off', maxConcurrent: 1 } });
    const runner = new CheckRunner(config.checks, path.join(repo.dir, '.selfscope'), repo.privateDir);
    const cancel = new AbortController();
    const runs = [0, 1, 2].map(() => runner.run({ worktree: repo.dir, check: 'test', signal: cancel.signal }).then((r) => (r.cancelled ? 'cancelled' : 'ran'), (e: unknown) => (e instanceof ConflictError ? 'not started' : String(e))));
    await expect(runner.run({ worktree: repo.dir, check: 'test' })).rejects.toThrow(/3 checks are running or waiting in this worktree already/);
    cancel.abort();
    expect(await Promise.all(runs)).toEqual(['cancelled', 'not started', 'not started']);
    // The worktree takes runs again once they are done.
    const again = new AbortController();
    const next = runner.run({ worktree: repo.dir, check: 'test', signal: again.signal });
    again.abort();
    // Accepted (not refused as a fourth): cancelled before or while it ran.
    expect(await next.then((r) => (r.cancelled ? 'cancelled' : 'ran'), (e: Error) => e.message)).toMatch(/^cancelled$|^Cancelled before the check started/);
  }, 60_000);
});
