import type { CheckName } from './attestation.js';

/**
 * Check runs the server follows, so a client whose tool calls time out before a long run
 * ends can still have it: a call may return with the run's id while the run goes on, and
 * `selfscope://runs/{id}` shows it running, then finished with its result. The run itself is
 * the same as a foreground one (same runner, recorded the same way); only who waits differs.
 */

export type BackgroundStatus = 'running' | 'finished' | 'failed';

export interface BackgroundRun {
  id: string;
  check: CheckName;
  worktree: string;
  status: BackgroundStatus;
  started_at: string;
  finished_at: string | null;
  /** The result's verdict (finished runs). */
  ok: boolean | null;
  /** The result as the tool renders it (finished runs): test output in it is untrusted. */
  summary: string | null;
  /** Why the run could not be done (failed runs): an error message, not a test failure. */
  error: string | null;
}

interface Entry {
  info: BackgroundRun;
  controller: AbortController;
  done: Promise<unknown>;
}

// Finished runs kept for reading back; the oldest go first.
const MAX_FINISHED = 100;

export class BackgroundRuns {
  private readonly entries = new Map<string, Entry>();

  /**
   * Starts `work` under run id `id` with its own abort signal (not the request's: the run
   * outlives the call that started it). `summarize` turns the result into what the run's
   * page shows. The returned promise settles as `work` does.
   */
  start<T>(id: string, check: CheckName, worktree: string, work: (signal: AbortSignal) => Promise<T>, summarize: (result: T) => { ok: boolean; summary: string }): Promise<T> {
    const controller = new AbortController();
    const info: BackgroundRun = { id, check, worktree, status: 'running', started_at: new Date().toISOString(), finished_at: null, ok: null, summary: null, error: null };
    const done = work(controller.signal).then(
      (result) => {
        const { ok, summary } = summarize(result);
        Object.assign(info, { status: 'finished', finished_at: new Date().toISOString(), ok, summary });
        this.prune();
        return result;
      },
      (error: unknown) => {
        Object.assign(info, { status: 'failed', finished_at: new Date().toISOString(), error: error instanceof Error ? error.message : String(error) });
        this.prune();
        throw error;
      },
    );
    // The caller may stop waiting; a failure is kept on the entry, never unhandled.
    done.catch(() => {});
    this.entries.set(id, { info, controller, done });
    return done;
  }

  get(id: string): BackgroundRun | null {
    const entry = this.entries.get(id);
    return entry ? { ...entry.info } : null;
  }

  /** Stops a running run (its process group is killed); false when it is not running. */
  cancel(id: string): boolean {
    const entry = this.entries.get(id);
    if (!entry || entry.info.status !== 'running') return false;
    entry.controller.abort();
    return true;
  }

  /** Stops every running run and waits for them to end (server shutdown). */
  async close(): Promise<void> {
    const running = [...this.entries.values()].filter((e) => e.info.status === 'running');
    for (const entry of running) entry.controller.abort();
    await Promise.allSettled(running.map((e) => e.done));
  }

  private prune(): void {
    const finished = [...this.entries.values()].filter((e) => e.info.status !== 'running');
    for (const entry of finished.slice(0, Math.max(0, finished.length - MAX_FINISHED))) this.entries.delete(entry.info.id);
  }
}
