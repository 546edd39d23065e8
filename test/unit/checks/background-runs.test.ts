import { describe, expect, it } from 'vitest';
import { BackgroundRuns } from '../../../src/core/checks/background-runs.js';

/** The runs the server follows after a call returned early: status, result, cancel, failure. */

function deferred<T>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('background runs', () => {
  it('shows a run as running, then finished with its summary', async () => {
    const runs = new BackgroundRuns();
    const gate = deferred<{ ok: boolean }>();
    const done = runs.start('run-a-000001', 'test', '/w', () => gate.promise, (r) => ({ ok: r.ok, summary: r.ok ? 'passed' : 'failed' }));
    expect(runs.get('run-a-000001')).toMatchObject({ status: 'running', ok: null, summary: null, finished_at: null });
    gate.resolve({ ok: true });
    await done;
    expect(runs.get('run-a-000001')).toMatchObject({ status: 'finished', ok: true, summary: 'passed' });
    expect(runs.get('run-b-000002')).toBeNull();
  });

  it('aborts the run\'s own signal on cancel and on close, and keeps a failure as its error', async () => {
    const runs = new BackgroundRuns();
    const seen: boolean[] = [];
    const work = (signal: AbortSignal) => new Promise<never>((_, reject) => signal.addEventListener('abort', () => (seen.push(true), reject(new Error('cancelled by the client')))));
    const one = runs.start('run-a-000001', 'test', '/w', work, () => ({ ok: false, summary: '' }));
    expect(runs.cancel('run-a-000001')).toBe(true);
    await expect(one).rejects.toThrow(/cancelled/);
    expect(runs.get('run-a-000001')).toMatchObject({ status: 'failed', error: 'cancelled by the client' });
    expect(runs.cancel('run-a-000001')).toBe(false);
    void runs.start('run-a-000002', 'typecheck', '/w', work, () => ({ ok: false, summary: '' }));
    await runs.close();
    expect(seen).toEqual([true, true]);
  });

  it('keeps at most 100 finished runs, the newest', async () => {
    const runs = new BackgroundRuns();
    for (let i = 0; i < 105; i++) await runs.start(`run-a-${String(i).padStart(6, '0')}`, 'test', '/w', async () => i, () => ({ ok: true, summary: '' }));
    expect(runs.get('run-a-000004')).toBeNull();
    expect(runs.get('run-a-000005')).not.toBeNull();
    expect(runs.get('run-a-000104')).not.toBeNull();
  });
});
