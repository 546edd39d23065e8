import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * selfscope keeps its private state under $XDG_STATE_HOME (default ~/.local/state): the
 * suite points it at a temporary directory, so tests and the servers they start never
 * touch the real one, and it is removed at the end. A test that starts a server without
 * passing XDG_STATE_HOME on would write under the real HOME: the teardown fails the run
 * and names what appeared there.
 */
const REAL = path.join(os.homedir(), '.local', 'state', 'selfscope');

async function entries(dir: string): Promise<Set<string>> {
  return new Set(await fs.readdir(dir).catch(() => []));
}

export default async function setup(): Promise<() => Promise<void>> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-xdg-state-'));
  process.env['XDG_STATE_HOME'] = dir;
  const before = await entries(REAL);
  return async () => {
    await fs.rm(dir, { recursive: true, force: true });
    const leaked = [...(await entries(REAL))].filter((name) => !before.has(name) && name.startsWith('selfscope-'));
    if (leaked.length > 0) {
      await Promise.all(leaked.map((name) => fs.rm(path.join(REAL, name), { recursive: true, force: true })));
      throw new Error(`Tests wrote private state under ${REAL} (removed now): ${leaked.join(', ')}. Pass XDG_STATE_HOME to the processes they start.`);
    }
  };
}
