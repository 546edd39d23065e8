import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from './mcp-client.js';

/** The bun binary of the `@oven/bun-linux-x64` devDependency: tests where bun's own behaviour matters run the real one. */
export const BUN = path.join(PACKAGE_ROOT, 'node_modules', '@oven', 'bun-linux-x64', 'bin', 'bun');

/**
 * A directory holding `bun` and `bunx` (bun runs as bunx when called by that name), and a
 * PATH that starts with it, for a run that must find bun by name. Call the returned
 * `cleanup` when done.
 */
export async function bunPath(basePath = process.env['PATH'] ?? ''): Promise<{ dir: string; path: string; cleanup(): Promise<void> }> {
  await fs.access(BUN).catch(() => {
    throw new Error(`No bun at ${BUN}: run npm install (the @oven/bun-linux-x64 devDependency).`);
  });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-bun-'));
  await fs.symlink(BUN, path.join(dir, 'bun'));
  await fs.symlink(BUN, path.join(dir, 'bunx'));
  return { dir, path: `${dir}${path.delimiter}${basePath}`, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}
