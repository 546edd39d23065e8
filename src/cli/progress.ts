import cliProgress from 'cli-progress';
import { describeRefreshProgress, type RefreshProgress, type RefreshProgressListener } from '../core/logs/refresh-progress.js';
import type { AppContext } from '../server/app-context.js';
import { getLogIndex } from '../server/engines.js';

/**
 * The progress bar a person sees while the log index catches up (the first index of a big
 * log takes tens of seconds): bytes read of total, events/s, time left. On stderr, and only
 * on a terminal: stdout stays for results, and a pipe, a file or --json gets no bar.
 */

export interface ProgressBarOptions {
  /** Machine output was asked for: draw nothing. */
  json?: boolean;
  /** Where the bar goes (default stderr). */
  stream?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
}

/** A bar only on a terminal that can redraw a line, and never with --json. */
export function wantsProgressBar(options: ProgressBarOptions = {}): boolean {
  const stream = options.stream ?? process.stderr;
  const env = options.env ?? process.env;
  return options.json !== true && stream.isTTY === true && env['TERM'] !== 'dumb';
}

export interface IndexProgressBar {
  onProgress: RefreshProgressListener;
  /** Takes the bar away (on an error, say); after the final report it is gone already. */
  stop(): void;
}

/**
 * A bar fed by LogIndex.refresh's reports. It appears with the first report (a refresh
 * reports only once it has read for 100 ms: a quick refresh draws nothing), and when done it
 * leaves one line saying what was indexed, in how long.
 */
export function createIndexProgressBar(stream: NodeJS.WriteStream = process.stderr): IndexProgressBar {
  let bar: cliProgress.SingleBar | null = null;
  const stop = () => {
    bar?.stop();
    bar = null;
  };
  const onProgress = (p: RefreshProgress) => {
    if (p.final) {
      if (!bar) return;
      bar.update(p.bytes_done, { detail: '' });
      stop();
      stream.write(`selfscope: indexed the log: ${describeRefreshProgress(p)}\n`);
      return;
    }
    const payload = { detail: describeRefreshProgress(p) };
    if (!bar) {
      bar = new cliProgress.SingleBar(
        {
          stream,
          format: 'indexing {bar} {percentage}% {detail}',
          barsize: 20,
          fps: 10,
          clearOnComplete: true,
          // No cursor hiding and no line-wrap switching: an interrupted run (Ctrl-C) leaves
          // the terminal as it found it. Lines are cut to the terminal's width instead.
          hideCursor: false,
          linewrap: true,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(p.bytes_total, p.bytes_done, payload);
      return;
    }
    bar.setTotal(p.bytes_total);
    bar.update(p.bytes_done, payload);
  };
  return { onProgress, stop };
}

/**
 * Brings the log index up to date before a command reads it, with a bar on a terminal.
 * Elsewhere it does nothing: the command's own refresh does the same work, silently.
 */
export async function catchUpLogIndex(app: AppContext, options: ProgressBarOptions = {}): Promise<void> {
  if (!wantsProgressBar(options)) return;
  const index = await getLogIndex(app);
  const bar = createIndexProgressBar(options.stream ?? process.stderr);
  try {
    await index.refresh({ onProgress: bar.onProgress });
  } finally {
    bar.stop();
  }
}
