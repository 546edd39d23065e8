import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * selfscope keeps its private state under $XDG_STATE_HOME (default ~/.local/state): the
 * suite points it at a temporary directory, so tests and the servers they start never
 * touch the real one, and it is removed at the end.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-xdg-state-'));
  process.env['XDG_STATE_HOME'] = dir;
  return async () => {
    await fs.rm(dir, { recursive: true, force: true });
  };
}
