import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/core/logger.js';
import { LogIndex } from '../../../src/core/logs/log-index.js';
import { getEvent } from '../../../src/core/logs/query.js';
import { logLine } from '../../helpers/log-lines.js';

let dir: string;
let index: LogIndex;
const T0 = Date.parse('2026-03-13T14:00:00Z');
// Lines of equal length in both files, so every offset of one file is an offset of the other.
const line = (file: string, i: number) => logLine({ ts: new Date(T0 + i * 1000), event: `${file}_event_${i}`, content: `${file} line ${i}` });

beforeAll(async () => {
  dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-get-event-')));
  const logDir = path.join(dir, 'data', 'logs');
  await fs.mkdir(logDir, { recursive: true });
  await fs.writeFile(path.join(logDir, 'a.ndjson'), `${[0, 1, 2].map((i) => line('a', i)).join('\n')}\n`);
  await fs.writeFile(path.join(logDir, 'b.ndjson'), `${[0, 1, 2].map((i) => line('b', i)).join('\n')}\n`);
  const config = await loadConfig({ cwd: dir, env: {}, flags: { repo: dir } });
  index = await LogIndex.open({ repo: dir, logs: config.logs, stateDirPath: config.stateDirPath, schema: config.schema, limits: config.limits, logger: silentLogger });
  await index.refresh();
});
afterAll(async () => {
  await index.close();
  await fs.rm(dir, { recursive: true, force: true });
});

async function rows(): Promise<Array<{ id: string; file: string; offset: number; content: string }>> {
  return (await index.query<{ id: string; file: string; offset: number; content: string }>('SELECT id, file, "offset", content FROM logs ORDER BY file, "offset"', [])).rows;
}

describe('getEvent', () => {
  it('keeps ids of the form <stream id>:<byte offset>, which the lookup relies on', async () => {
    const all = await rows();
    expect(all).toHaveLength(6);
    for (const r of all) expect(r.id).toMatch(new RegExp(`^[0-9a-f]+:${r.offset}$`));
  });

  it('finds each event by its id, also where another file has an event at the same offset', async () => {
    const all = await rows();
    const offsets = new Set(all.map((r) => r.offset));
    expect(offsets.size).toBe(3); // the two files share every offset
    for (const r of all) {
      const event = await getEvent(index, r.id);
      expect(event?.['id']).toBe(r.id);
      expect(event?.['file']).toBe(r.file);
      expect(event?.['content']).toBe(r.content);
      expect(event?.['offset']).toBe(r.offset);
    }
  });

  it('finds nothing for an id that names no event', async () => {
    const [first, second] = await rows();
    const stream = first!.id.split(':')[0]!;
    for (const bogus of [
      'nope',
      '',
      `${stream}:1`, // inside a line
      `${stream}:${first!.offset}0`,
      `${stream}:0${second!.offset}`, // the same number, written differently
      `ffffffffff:${first!.offset}`, // another stream at a real offset
      `${stream}:123456789012345678901234567890`,
      `${stream}:${second!.offset}:x`,
      `x${first!.id}`,
    ]) {
      expect(await getEvent(index, bogus), bogus).toBeNull();
    }
  });
});
