import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/core/logger.js';
import { LogIndex, type RefreshProgress } from '../../../src/core/logs/log-index.js';
import { describeRefreshProgress, humanBytes, humanCount } from '../../../src/core/logs/refresh-progress.js';
import { PACKAGE_ROOT } from '../../helpers/mcp-client.js';

let dir: string;
let sourceDir: string;
let firstBytes: number;
let secondBytes: number;
let repos = 0;

/** A log of `events` lines from bench/generate.mjs (about 680 bytes a line). */
async function generate(file: string, events: number, seed: number): Promise<number> {
  await execa(process.execPath, [path.join(PACKAGE_ROOT, 'bench', 'generate.mjs'), file, '--events', String(events), '--seed', String(seed)]);
  return (await fs.stat(file)).size;
}

/** A repository of its own with the two generated logs, and its fresh index. */
async function openFresh(): Promise<{ index: LogIndex; logDir: string }> {
  const repo = path.join(dir, `repo-${++repos}`);
  const logDir = path.join(repo, 'data', 'logs');
  await fs.mkdir(logDir, { recursive: true });
  for (const name of ['a.ndjson', 'b.ndjson']) await fs.copyFile(path.join(sourceDir, name), path.join(logDir, name));
  const config = await loadConfig({ cwd: repo, env: {}, flags: { repo } });
  const index = await LogIndex.open({ repo, logs: config.logs, stateDirPath: config.stateDirPath, schema: config.schema, limits: config.limits, logger: silentLogger });
  return { index, logDir };
}

/** What every sequence of reports of one refresh must satisfy. */
function expectWellFormed(reports: RefreshProgress[], bytes: number, events: number): void {
  expect(reports.length).toBeGreaterThan(0);
  for (const [i, r] of reports.entries()) {
    expect(r.bytes_done).toBeLessThanOrEqual(r.bytes_total);
    if (i > 0) expect(r.bytes_done).toBeGreaterThanOrEqual(reports[i - 1]!.bytes_done);
    expect(r.final).toBe(i === reports.length - 1);
  }
  const last = reports.at(-1)!;
  expect(last).toMatchObject({ final: true, bytes_done: bytes, bytes_total: bytes, events });
}

beforeAll(async () => {
  dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-progress-')));
  sourceDir = path.join(dir, 'generated');
  await fs.mkdir(sourceDir, { recursive: true });
  // Two files, so that the total spans files: about 10 MB and 4 MB.
  [firstBytes, secondBytes] = await Promise.all([generate(path.join(sourceDir, 'a.ndjson'), 15_000, 1), generate(path.join(sourceDir, 'b.ndjson'), 6_000, 2)]);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('LogIndex.refresh progress', () => {
  it('reports bytes that only grow and reach the total of all files, with the events added', async () => {
    const { index, logDir } = await openFresh();
    try {
      const reports: RefreshProgress[] = [];
      // The event loop runs while it reads (what draws a bar or sends a notification needs it).
      let timerRuns = 0;
      let reportsWhenTimerRan = -1;
      const timer = setInterval(() => {
        timerRuns++;
        reportsWhenTimerRan = reports.length;
      }, 5);
      const stats = await index.refresh({ onProgress: (p) => reports.push(p) }).finally(() => clearInterval(timer));
      expect(stats.new_events).toBe(21_000);
      expectWellFormed(reports, firstBytes + secondBytes, 21_000);
      // 14 MB take far longer than the 100 ms between two reports on any machine: it reported
      // while reading, not only at the end, and timers ran in between.
      expect(reports.filter((r) => !r.final).length).toBeGreaterThan(0);
      expect(timerRuns).toBeGreaterThan(0);
      expect(reportsWhenTimerRan).toBeGreaterThan(0);
      // The total is known before the first byte is read: every report carries all of it.
      for (const r of reports) expect(r.bytes_total).toBe(firstBytes + secondBytes);

      // Nothing new: the next refresh reads nothing and reports nothing.
      const quiet: RefreshProgress[] = [];
      await index.refresh({ onProgress: (p) => quiet.push(p) });
      expect(quiet).toEqual([]);

      // Appended lines: reported as what this refresh reads, not the whole file.
      const more = path.join(dir, 'more.ndjson');
      const moreBytes = await generate(more, 500, 3);
      await fs.appendFile(path.join(logDir, 'b.ndjson'), await fs.readFile(more));
      const appended: RefreshProgress[] = [];
      const again = await index.refresh({ onProgress: (p) => appended.push(p) });
      expect(again.new_events).toBe(500);
      expectWellFormed(appended, moreBytes, 500);
    } finally {
      await index.close();
    }
  });

  it('lets a caller that waits behind a running refresh hear that refresh', async () => {
    const { index } = await openFresh();
    try {
      const reports: RefreshProgress[] = [];
      const first = index.refresh();
      const second = index.refresh({ onProgress: (p) => reports.push(p) });
      await Promise.all([first, second]);
      expectWellFormed(reports, firstBytes + secondBytes, 21_000);
    } finally {
      await index.close();
    }
  });

  it('keeps ingesting when a listener throws', async () => {
    const { index } = await openFresh();
    try {
      const stats = await index.refresh({
        onProgress: () => {
          throw new Error('a broken display');
        },
      });
      expect(stats.new_events).toBe(21_000);
      const rows = await index.all<{ n: number }>('SELECT count(*) AS n FROM logs');
      expect(rows[0]!.n).toBe(21_000);
    } finally {
      await index.close();
    }
  });
});

describe('describeRefreshProgress', () => {
  it('says bytes of total, the pace and the time left, then what was done', () => {
    const running = { bytes_done: 312_000_000, bytes_total: 690_000_000, events: 410_000, elapsed_ms: 10_000, final: false };
    expect(describeRefreshProgress(running)).toBe('312 MB of 690 MB, 41k events/s, 12 s left');
    const done = { bytes_done: 690_000_000, bytes_total: 690_000_000, events: 1_230_000, elapsed_ms: 31_400, final: true };
    expect(describeRefreshProgress(done)).toBe('690 MB, 1.2M events in 31 s');
    // No pace yet in the first half second: no guess at the time left.
    expect(describeRefreshProgress({ ...running, elapsed_ms: 200 })).not.toMatch(/left/);
  });

  it.each([
    [0, '0 B'],
    [512, '512 B'],
    [4_200, '4.2 kB'],
    [999_600, '1.0 MB'],
    [312_400_000, '312 MB'],
    [2_500_000_000, '2.5 GB'],
  ])('%s bytes read "%s"', (n, text) => {
    expect(humanBytes(n)).toBe(text);
  });

  it.each([
    [830, '830'],
    [4_120, '4.1k'],
    [41_234, '41k'],
    [1_234_567, '1.2M'],
  ])('%s reads "%s"', (n, text) => {
    expect(humanCount(n)).toBe(text);
  });
});
