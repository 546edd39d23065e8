import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { configFileSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { LogIndex } from '../../src/core/logs/log-index.js';
import { logLine, type LineOptions } from './log-lines.js';

/**
 * A real log index over these lines, written in time order (as the bot appends them) to
 * data/logs/a.ndjson of a fresh directory with the default configuration. `close` closes the
 * index and removes the directory.
 */
export async function indexLines(lines: readonly LineOptions[], prefix = 'selfscope-lines-'): Promise<{ index: LogIndex; stateDir: string; close(): Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  await fs.mkdir(path.join(dir, 'data', 'logs'), { recursive: true });
  const sorted = [...lines].sort((a, b) => new Date(a.ts).getTime() - new Date(b.ts).getTime());
  await fs.writeFile(path.join(dir, 'data', 'logs', 'a.ndjson'), `${sorted.map(logLine).join('\n')}\n`);
  const config = configFileSchema.parse({});
  const stateDir = path.join(dir, '.selfscope');
  const index = await LogIndex.open({ repo: dir, logs: config.logs, stateDirPath: stateDir, schema: config.schema, limits: config.limits, logger: silentLogger });
  return {
    index,
    stateDir,
    close: async () => {
      await index.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
