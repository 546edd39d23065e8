import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createIndexProgressBar, wantsProgressBar } from '../../../src/cli/progress.js';
import type { RefreshProgress } from '../../../src/core/logs/refresh-progress.js';

/** A stand-in terminal: what the bar writes, as a string. */
function fakeTerminal(isTTY = true): { stream: NodeJS.WriteStream; output: () => string } {
  let written = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY, columns: 120 });
  return { stream, output: () => written };
}

const report = (bytes_done: number, final = false): RefreshProgress => ({ bytes_done, bytes_total: 40_000_000, events: bytes_done / 700, elapsed_ms: 2000 * (bytes_done / 40_000_000) + 600, final });

describe('wantsProgressBar', () => {
  it('is true only for a terminal, without --json, and not a dumb one', () => {
    const tty = fakeTerminal(true).stream;
    expect(wantsProgressBar({ stream: tty, env: { TERM: 'xterm' } })).toBe(true);
    expect(wantsProgressBar({ stream: tty, env: {} })).toBe(true);
    expect(wantsProgressBar({ stream: tty, env: { TERM: 'xterm' }, json: true })).toBe(false);
    expect(wantsProgressBar({ stream: tty, env: { TERM: 'dumb' } })).toBe(false);
    expect(wantsProgressBar({ stream: fakeTerminal(false).stream, env: { TERM: 'xterm' } })).toBe(false);
  });
});

describe('createIndexProgressBar', () => {
  it('draws bytes of total and the pace while the index reads, then leaves one line of what was done', () => {
    const { stream, output } = fakeTerminal();
    const bar = createIndexProgressBar(stream);
    bar.onProgress(report(10_000_000));
    bar.onProgress(report(30_000_000));
    bar.onProgress({ ...report(40_000_000, true), bytes_total: 40_000_000 });
    const text = output();
    expect(text).toMatch(/indexing .* 25% 10 MB of 40 MB, [\d.]+k events\/s/);
    expect(text).toMatch(/selfscope: indexed the log: 40 MB, 57k events in 3 s\n$/);
    bar.stop(); // already stopped: nothing more
    expect(output()).toBe(text);
  });

  it('draws nothing for a refresh that ended before its first report', () => {
    const { stream, output } = fakeTerminal();
    const bar = createIndexProgressBar(stream);
    bar.onProgress({ bytes_done: 5000, bytes_total: 5000, events: 7, elapsed_ms: 30, final: true });
    bar.stop();
    expect(output()).toBe('');
  });
});
