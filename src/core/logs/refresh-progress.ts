import { humanDuration } from '../text/durations.js';

/**
 * How a refresh of the log index is going, for whoever waits on the first index of a big log
 * (a person at the CLI, an agent over MCP): bytes read of the bytes to read, across files.
 */
export interface RefreshProgress {
  /** Bytes this refresh has read so far; never decreases. */
  bytes_done: number;
  /**
   * Bytes it expects to read: the files' unread bytes when it starts, corrected as it goes
   * (a file grew, or turned out to be a copy it skips). Never below bytes_done; equal to it
   * in the final report.
   */
  bytes_total: number;
  /** Events added so far. */
  events: number;
  /** Since the refresh started. */
  elapsed_ms: number;
  /** The last report of this refresh. */
  final: boolean;
}

export type RefreshProgressListener = (progress: RefreshProgress) => void;

/** How often a refresh reports while it reads, and lets the event loop run (timers, I/O, notifications). */
export const PROGRESS_EVERY_MS = 100;

/**
 * Counts one refresh's bytes and events and reports them to the listeners of the moment
 * (a listener may join while it runs), at most every PROGRESS_EVERY_MS, plus a final report
 * when it read anything.
 */
export class RefreshMeter {
  /** Bytes of the files read completely so far (the file being read is added at its end). */
  bytesDone = 0;
  bytesTotal = 0;
  /** Events of the files read completely so far. */
  events = 0;
  private readonly started = performance.now();
  private lastReport = this.started;
  private lastDone = 0;
  private reported = false;

  constructor(
    private readonly listeners: ReadonlySet<RefreshProgressListener>,
    private readonly everyMs = PROGRESS_EVERY_MS,
  ) {}

  /** Whether a report is due: cheap enough to ask every few hundred lines. */
  due(): boolean {
    return performance.now() - this.lastReport >= this.everyMs;
  }

  /**
   * Reports the position inside the file being read (bytes and events of this refresh up to
   * there), then yields to the event loop so that what listens can draw or send.
   */
  async report(bytesDone: number, events: number): Promise<void> {
    this.lastReport = performance.now();
    if (this.listeners.size > 0) this.emit(bytesDone, events, false);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** The final report, when this refresh read anything or said it would. */
  finish(): void {
    if (this.bytesDone === 0 && !this.reported) return;
    this.bytesTotal = Math.max(this.bytesDone, this.lastDone);
    this.emit(this.bytesTotal, this.events, true);
  }

  private emit(bytesDone: number, events: number, final: boolean): void {
    // A position can step back a little (a torn line read again with its end): reports never do.
    const done = Math.max(this.lastDone, bytesDone);
    this.lastDone = done;
    this.reported = true;
    const progress: RefreshProgress = {
      bytes_done: done,
      bytes_total: final ? done : Math.max(this.bytesTotal, done),
      events,
      elapsed_ms: performance.now() - this.started,
      final,
    };
    for (const listener of [...this.listeners]) {
      try {
        listener(progress);
      } catch {
        // A display that fails must not stop the ingest.
      }
    }
  }
}

/** "312 MB", "4.2 kB", "512 B" (decimal units, as file managers and `ls -h --si` write them). */
export function humanBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 999.5 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const shown = unit === 0 ? String(Math.round(value)) : value < 9.95 ? (Math.round(value * 10) / 10).toFixed(1) : String(Math.round(value));
  return `${shown} ${units[unit]}`;
}

/** "41k", "1.2M", "830". */
export function humanCount(n: number): string {
  const v = Math.max(0, n);
  if (v < 999.5) return String(Math.round(v));
  if (v < 999_500) return v < 9950 ? `${(Math.round(v / 100) / 10).toFixed(1)}k` : `${Math.round(v / 1000)}k`;
  return v < 9_950_000 ? `${(Math.round(v / 100_000) / 10).toFixed(1)}M` : `${Math.round(v / 1_000_000)}M`;
}

/** Events per second since the refresh started. */
export function eventsPerSecond(p: RefreshProgress): number {
  return p.elapsed_ms > 0 ? p.events / (p.elapsed_ms / 1000) : 0;
}

/** Time left at the pace so far; null until there is a pace to go by. */
export function timeLeftMs(p: RefreshProgress): number | null {
  if (p.final || p.bytes_done <= 0 || p.elapsed_ms < 500) return null;
  return ((p.bytes_total - p.bytes_done) * p.elapsed_ms) / p.bytes_done;
}

/**
 * "312 MB of 690 MB, 41k events/s, 20 s left"; the final report:
 * "690 MB, 1.2M events in 31 s".
 */
export function describeRefreshProgress(p: RefreshProgress): string {
  if (p.final) return `${humanBytes(p.bytes_done)}, ${humanCount(p.events)} events in ${humanDuration(roundToSeconds(p.elapsed_ms))}`;
  const left = timeLeftMs(p);
  return `${humanBytes(p.bytes_done)} of ${humanBytes(p.bytes_total)}, ${humanCount(eventsPerSecond(p))} events/s${left !== null ? `, ${humanDuration(Math.max(1000, roundToSeconds(left)))} left` : ''}`;
}

function roundToSeconds(ms: number): number {
  return ms < 1000 ? ms : Math.round(ms / 1000) * 1000;
}
