import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { AppContext } from './app-context.js';
import { createServer } from './create-server.js';

/**
 * Serves one client over stdin/stdout (how Claude Code and Codex start MCP servers).
 * Resolves when the session ends: stdin closed, or the transport closed.
 */
export async function serveStdio(app: AppContext): Promise<{ closed: Promise<void>; close(): Promise<void> }> {
  // stdout carries the protocol: anything else printed there would corrupt it.
  console.log = console.error;
  console.info = console.error;
  console.debug = console.error;

  const server = createServer(app);
  const transport = new StdioServerTransport();
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  const previous = server.server.onclose;
  server.server.onclose = () => {
    previous?.();
    resolveClosed();
  };
  await server.connect(transport);
  process.stdin.once('end', () => void server.close());
  process.stdin.once('close', () => void server.close());
  return { closed, close: () => server.close() };
}
