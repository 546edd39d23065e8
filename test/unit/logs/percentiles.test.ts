import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/core/logger.js';
import { LogIndex } from '../../../src/core/logs/log-index.js';
import { aggregate } from '../../../src/core/logs/query.js';
import { logLine } from '../../helpers/log-lines.js';

let dir: string;
let index: LogIndex;
const T0 = Date.parse('2026-03-13T14:00:00Z');
const bounds = { fieldBytes: 4096, maxBytes: 100_000 };
// 200 tool calls of 1..200 ms, and 9 searches of 10..90 ms.
const latencies = { voice_runtime: Array.from({ length: 200 }, (_, i) => i + 1), search_call: Array.from({ length: 9 }, (_, i) => (i + 1) * 10) };

/** quantile_cont: linear interpolation between the two nearest ranks. */
function exact(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  return Math.round((sorted[lo]! + (h - lo) * (sorted[Math.ceil(h)]! - sorted[lo]!)) * 10) / 10;
}

beforeAll(async () => {
  dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-pct-')));
  await fs.mkdir(path.join(dir, 'data', 'logs'), { recursive: true });
  let i = 0;
  const lines = Object.entries(latencies).flatMap(([kind, values]) =>
    values.map((ms) => logLine({ ts: new Date(T0 + i++ * 1000), kind, metadata: kind === 'search_call' ? { latencyMs: ms } : { runtimeMs: ms } })),
  );
  await fs.writeFile(path.join(dir, 'data', 'logs', 'a.ndjson'), `${lines.join('\n')}\n`);
  const config = await loadConfig({ cwd: dir, env: {}, flags: { repo: dir } });
  index = await LogIndex.open({ repo: dir, logs: config.logs, stateDirPath: config.stateDirPath, schema: config.schema, limits: config.limits, logger: silentLogger });
  await index.refresh();
});
afterAll(async () => {
  await index.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('aggregate percentiles', () => {
  it('are exact while few rows match, and say nothing more', async () => {
    const result = await aggregate(index, { filters: {}, group_by: ['kind'], metrics: ['count', 'p50', 'p95', 'p99'], limit: 10 }, bounds);
    expect(result.rows).toHaveLength(2);
    for (const row of result.rows) {
      const values = latencies[row['kind'] as keyof typeof latencies];
      expect(row).toEqual({ kind: row['kind'], count: values.length, p50_ms: exact(values, 0.5), p95_ms: exact(values, 0.95), p99_ms: exact(values, 0.99) });
    }
  });

  it('are estimated past the threshold, and every row says so', async () => {
    const result = await aggregate(index, { filters: {}, group_by: ['kind'], metrics: ['count', 'p95'], limit: 10, exactPercentileRows: 100 }, bounds);
    expect(result.rows).toHaveLength(2);
    for (const row of result.rows) {
      const values = latencies[row['kind'] as keyof typeof latencies];
      expect(row['percentiles_estimated']).toBe(true);
      // Every value fits in the sample: the estimate is one of the values near the 95th.
      expect(values).toContain(row['p95_ms']);
      expect(Math.abs((row['p95_ms'] as number) - exact(values, 0.95))).toBeLessThanOrEqual(values === latencies.search_call ? 10 : 2);
    }
  });

  it('count only the filtered rows against the threshold', async () => {
    const result = await aggregate(index, { filters: { kind: 'search_call' }, group_by: ['kind'], metrics: ['p95'], limit: 10, exactPercentileRows: 100 }, bounds);
    expect(result.rows).toEqual([{ kind: 'search_call', p95_ms: exact(latencies.search_call, 0.95) }]);
  });
});
