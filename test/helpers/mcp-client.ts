import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The built CLI, as users start it. Tests run after `npm run build` (npm test does it). */
export const CLI = path.join(PACKAGE_ROOT, 'dist', 'cli', 'main.js');

export interface StdioSession {
  client: Client;
  transport: StdioClientTransport;
  stderr(): string;
  close(): Promise<void>;
}

/** Starts `selfscope serve` over stdio in `cwd` and connects the SDK client to it. */
export async function connectStdio(cwd: string, args: string[] = [], env: Record<string, string> = {}): Promise<StdioSession> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'serve', ...args],
    cwd,
    // XDG_STATE_HOME: the suite's own (test/setup/private-state.ts), so no server writes private state under HOME.
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...(process.env['XDG_STATE_HOME'] ? { XDG_STATE_HOME: process.env['XDG_STATE_HOME'] } : {}), ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'selfscope-test', version: '0.0.0' }, { capabilities: {} });
  await client.connect(transport);
  return { client, transport, stderr: () => stderr, close: () => client.close() };
}
