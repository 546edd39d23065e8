import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { AppContext } from './app-context.js';
import { createServer } from './create-server.js';
import { tokenMatches } from './http-token.js';

export interface HttpServeOptions {
  host: string;
  port: number;
  token: string;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  lastSeen: number;
}

export interface RunningHttpServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

function jsonRpcError(res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id: null }, headers);
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    req.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) {
        reject(new BodyTooLarge());
        req.pause();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1';
}

/**
 * Streamable HTTP at `/mcp`, for clients that cannot spawn a process. Every request needs
 * the bearer token; Host and Origin must be this server's own (DNS-rebinding defence);
 * bodies are capped; each client session gets its own transport and McpServer, and idle
 * sessions expire. `/healthz` answers without a token and says nothing about the repository.
 */
export async function serveHttp(app: AppContext, options: HttpServeOptions): Promise<RunningHttpServer> {
  const limits = app.config.http;
  const sessions = new Map<string, Session>();
  let port = options.port;

  const allowedHosts = (): Set<string> => {
    const names = new Set([options.host, ...(isLoopback(options.host) ? ['127.0.0.1', 'localhost', '[::1]'] : [])]);
    const out = new Set<string>();
    for (const name of names) {
      const shown = name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;
      out.add(`${shown}:${port}`.toLowerCase());
    }
    return out;
  };
  const allowedOrigins = (): Set<string> => {
    const out = new Set<string>(limits.allowedOrigins.map((o) => o.toLowerCase()));
    for (const host of allowedHosts()) out.add(`http://${host}`);
    return out;
  };

  function endSession(id: string, session: Session): void {
    sessions.delete(id);
    void session.transport.close().catch(() => {});
    void session.server.close().catch(() => {});
  }

  async function handleMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sessionId = req.headers['mcp-session-id'];
    let existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (existing && existing.lastSeen < Date.now() - limits.sessionIdleS * 1000) {
      // Expired but not yet swept: end it now rather than serve it.
      endSession(sessionId as string, existing);
      existing = undefined;
    }

    if (req.method === 'POST') {
      let raw: Buffer;
      try {
        raw = await readBody(req, limits.maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyTooLarge) {
          jsonRpcError(res, 413, -32600, `Request body too large: the limit is ${limits.maxBodyBytes} bytes (http.maxBodyBytes).`, { connection: 'close' });
          return;
        }
        throw error;
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        jsonRpcError(res, 400, -32700, 'Parse error: the request body is not valid JSON.');
        return;
      }
      if (existing) {
        existing.lastSeen = Date.now();
        await existing.transport.handleRequest(req, res, body);
        return;
      }
      if (sessionId !== undefined) {
        jsonRpcError(res, 404, -32001, 'Session not found (expired or ended): start a new session with an initialize request.');
        return;
      }
      if (!isInitializeRequest(body)) {
        jsonRpcError(res, 400, -32600, 'Bad request: no Mcp-Session-Id header; start with an initialize request.');
        return;
      }
      if (sessions.size >= limits.maxSessions) {
        jsonRpcError(res, 503, -32000, `Too many sessions (${limits.maxSessions}): end one with DELETE /mcp or wait for idle ones to expire.`);
        return;
      }
      const server = createServer(app);
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, { transport, server, lastSeen: Date.now() });
        },
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
      };
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }

    if (req.method === 'GET' || req.method === 'DELETE') {
      if (!existing) {
        jsonRpcError(res, sessionId === undefined ? 400 : 404, -32001, sessionId === undefined ? 'Bad request: missing Mcp-Session-Id header.' : 'Session not found (expired or ended).');
        return;
      }
      existing.lastSeen = Date.now();
      await existing.transport.handleRequest(req, res);
      if (req.method === 'DELETE') {
        sessions.delete(sessionId as string);
        await existing.server.close().catch(() => {});
      }
      return;
    }
    jsonRpcError(res, 405, -32600, 'Method not allowed: use POST, GET or DELETE on /mcp.', { allow: 'GET, POST, DELETE' });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://placeholder');
    if (url.pathname === '/healthz' && req.method === 'GET') {
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (url.pathname !== '/mcp') {
      sendJson(res, 404, { error: 'not found: the MCP endpoint is /mcp' });
      return;
    }
    const host = (req.headers.host ?? '').toLowerCase();
    if (!allowedHosts().has(host)) {
      sendJson(res, 403, { error: 'forbidden: Host header not allowed' });
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins().has(origin.toLowerCase())) {
      sendJson(res, 403, { error: 'forbidden: Origin not allowed (http.allowedOrigins)' });
      return;
    }
    const auth = req.headers.authorization ?? '';
    const presented = /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
    if (!presented || !tokenMatches(presented, options.token)) {
      sendJson(res, 401, { error: 'unauthorized: send Authorization: Bearer <token> (SELFSCOPE_TOKEN, or the token file in the state directory)' }, { 'www-authenticate': 'Bearer realm="selfscope"' });
      return;
    }
    await handleMcp(req, res);
  }

  const httpServer = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const id = randomUUID().slice(0, 8);
      process.stderr.write(`[selfscope] http error ${id}: ${error instanceof Error ? error.stack : String(error)}\n`);
      jsonRpcError(res, 500, -32603, `Internal error (id ${id}); the server's stderr has the details.`);
    });
  });
  httpServer.requestTimeout = 0; // SSE streams stay open; idle sessions are expired below.
  httpServer.headersTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port, options.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  port = (httpServer.address() as AddressInfo).port;

  const sweeper = setInterval(() => {
    const cutoff = Date.now() - limits.sessionIdleS * 1000;
    for (const [id, session] of sessions) if (session.lastSeen < cutoff) endSession(id, session);
  }, Math.min(60_000, limits.sessionIdleS * 500));
  sweeper.unref();

  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${shownHost}:${port}/mcp`,
    port,
    async close() {
      clearInterval(sweeper);
      for (const session of sessions.values()) {
        await session.transport.close().catch(() => {});
        await session.server.close().catch(() => {});
      }
      sessions.clear();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
