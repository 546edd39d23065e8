import fs from 'node:fs/promises';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/core/logger.js';
import { AppContext } from '../../../src/server/app-context.js';
import { createServer } from '../../../src/server/create-server.js';
import { ensureAppStateDir } from '../../../src/server/engines.js';
import { createTempRepo, type TempRepo } from '../../helpers/temp-repo.js';

// The state directory is made at the first tool call, not at start-up: its failure must
// still reach the caller as a clear error, and a fixed cause must not need a restart.
describe('the state directory, made at first use', () => {
  let repo: TempRepo;
  let blocker: string;
  let app: AppContext;
  beforeEach(async () => {
    repo = await createTempRepo();
    // A file where a parent directory of the state directory should be: mkdir fails.
    blocker = path.join(repo.dir, 'not-a-dir');
    await fs.writeFile(blocker, 'x');
    const config = await loadConfig({ cwd: repo.dir, env: {} });
    app = new AppContext({ ...config, stateDirPath: path.join(blocker, '.selfscope') }, silentLogger, { transport: 'in-process', readOnly: false, toolsets: undefined }, repo.dir);
  });
  afterEach(async () => {
    await app.close();
    await repo.cleanup();
  });

  it('fails with a configuration error that names the directory and what to do, then succeeds once the cause is gone', async () => {
    const failure = await ensureAppStateDir(app).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'configuration', message: expect.stringContaining(path.join(blocker, '.selfscope')), hint: expect.stringMatching(/--state-dir/) });
    await fs.rm(blocker);
    await ensureAppStateDir(app);
    expect((await fs.stat(path.join(blocker, '.selfscope'))).isDirectory()).toBe(true);
  });

  it('turns the failure into the tool result of the first call', async () => {
    const server = createServer(app);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 'state-dir-test', version: '0' });
    await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
    try {
      const result = await client.callTool({ name: 'git_status', arguments: {} });
      expect(result.isError).toBe(true);
      const text = (result.content as Array<{ text: string }>).map((c) => c.text).join('\n');
      expect(text).toContain('could not be created');
      expect(text).toContain('--state-dir');
    } finally {
      await client.close();
    }
  });
});
