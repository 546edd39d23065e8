import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { UserInputError } from '../core/errors.js';
import type { AppContext } from './app-context.js';
import { createServer } from './create-server.js';
import { HostPolicy, isLoopbackAddress, isLoopbackBind, isWildcardBind } from './http-hosts.js';
import { ChoiceHeaderError, sessionChoicesFromHeaders, type SessionChoices } from './filters.js';
import { credentialKey, SessionTable } from './http-sessions.js';
import { tokenMatchesAny } from './http-token.js';

export interface HttpServeOptions {
  host: string;
  port: number;
  /** The bearer token clients must send (or several, in `tokens`). */
  token?: string;
  tokens?: readonly string[];
  /** Host names accepted besides the server's own (default: `http.allowedHosts`). */
  allowedHosts?: readonly string[];
  /**
   * No token at all, for tools that cannot send a header (the MCP conformance suite): only
   * on a loopback bind, and every request whose socket peer is not loopback gets 403.
   */
  noAuthLoopback?: boolean;
}

interface HttpSession {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  close(): Promise<void>;
}

export interface RunningHttpServer {
  /** The MCP endpoint a client on this machine uses. */
  url: string;
  port: number;
  /** The address listened on, as `HOST:PORT`. */
  listening: string;
  close(): Promise<void>;
}

/** How long a client is told to wait when every session is busy. */
const RETRY_AFTER_S = 5;

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

function bracketed(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * Streamable HTTP at `/mcp`, for clients that cannot spawn a process. Every request needs
 * the bearer token (unless `noAuthLoopback`); Host and Origin must name this server or an
 * allowed host (DNS-rebinding defence); bodies are capped; each client session gets its own
 * transport and McpServer, bound to the token that opened it, ended when idle, and the least
 * recently used idle one makes room when `http.maxSessions` is reached. `/healthz` answers
 * without a token and says nothing about the repository.
 */
export async function serveHttp(app: AppContext, options: HttpServeOptions): Promise<RunningHttpServer> {
  const limits = app.config.http;
  const tokens = options.tokens ?? (options.token !== undefined ? [options.token] : []);
  const noAuth = options.noAuthLoopback === true;
  if (noAuth && !isLoopbackBind(options.host)) {
    throw new UserInputError(`--no-auth-loopback serves only on a loopback address, not on ${options.host}.`, {
      hint: 'Use --http 127.0.0.1:PORT (or [::1]:PORT) with --no-auth-loopback, or drop --no-auth-loopback and let clients send the bearer token.',
    });
  }
  if (!noAuth && (tokens.length === 0 || tokens.some((t) => t.length < 16))) {
    throw new UserInputError('The HTTP transport needs a bearer token of at least 16 characters.', { hint: 'Set SELFSCOPE_TOKEN, or let `selfscope serve --http` generate one in the state directory.' });
  }
  let port = options.port;
  let hosts: HostPolicy;
  try {
    hosts = new HostPolicy({ bindHost: options.host, port: () => port, allowedHosts: options.allowedHosts ?? limits.allowedHosts, allowedOrigins: limits.allowedOrigins });
  } catch (error) {
    throw new UserInputError(`Invalid allowed host: ${(error as Error).message}`, { hint: 'Fix --allowed-hosts or http.allowedHosts: names like mcp.example.com or mcp.example.com:8443, IPv6 in brackets.' });
  }
  const idleS = limits.sessionIdleS;
  const sessions = new SessionTable<HttpSession>({
    idleMs: idleS * 1000,
    maxSessions: limits.maxSessions,
    // No ids or counts: these lines also reach every connected client as log notifications.
    onEnd: (reason) => {
      if (reason === 'evicted') {
        app.logger.log('info', `http: ${limits.maxSessions} sessions open (http.maxSessions); ended the least recently used idle one to admit a new client`);
      } else {
        app.logger.log('debug', `http: a session idle for ${idleS} s ended (http.sessionIdleS)`);
      }
    },
  });
  const noAuthCredential = credentialKey('');

  async function handleMcp(req: IncomingMessage, res: ServerResponse, credential: Buffer): Promise<void> {
    const header = req.headers['mcp-session-id'];
    const sessionId = typeof header === 'string' ? header : undefined;
    const existing = sessionId !== undefined ? sessions.get(sessionId, credential) : undefined;

    if (req.method === 'POST') {
      // In flight from its headers on, so a session still receiving a body is never ended.
      if (existing && sessionId !== undefined) res.once('close', sessions.track(sessionId, 'request'));
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
      // X-Selfscope-* headers on the initialize request narrow what this session registers.
      let choices: SessionChoices | undefined;
      try {
        choices = sessionChoicesFromHeaders(req.headers);
      } catch (error) {
        if (!(error instanceof ChoiceHeaderError)) throw error;
        jsonRpcError(res, 400, -32600, error.message);
        return;
      }
      const place = sessions.reserve();
      if (!place) {
        jsonRpcError(res, 503, -32000, `All ${limits.maxSessions} sessions have a request in flight (http.maxSessions): retry in a few seconds.`, { 'retry-after': String(RETRY_AFTER_S) });
        return;
      }
      const server = createServer(app, choices);
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.add(id, session, credential);
          place.release();
          res.once('close', sessions.track(id, 'request'));
        },
      });
      const session: HttpSession = {
        transport,
        server,
        async close() {
          await transport.close().catch(() => {});
          await server.close().catch(() => {});
        },
      };
      transport.onclose = () => {
        if (transport.sessionId) sessions.remove(transport.sessionId, session);
      };
      res.once('close', () => {
        place.release();
        // An initialize that failed leaves a server nobody can reach.
        if (transport.sessionId === undefined) void session.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }

    if (req.method === 'GET' || req.method === 'DELETE') {
      if (!existing || sessionId === undefined) {
        jsonRpcError(res, sessionId === undefined ? 400 : 404, -32001, sessionId === undefined ? 'Bad request: missing Mcp-Session-Id header.' : 'Session not found (expired or ended).');
        return;
      }
      res.once('close', sessions.track(sessionId, req.method === 'GET' ? 'stream' : 'request'));
      await existing.transport.handleRequest(req, res);
      if (req.method === 'DELETE') {
        sessions.remove(sessionId, existing);
        await existing.close();
      }
      return;
    }
    jsonRpcError(res, 405, -32600, 'Method not allowed: use POST, GET or DELETE on /mcp.', { allow: 'GET, POST, DELETE' });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const peerIsLoopback = isLoopbackAddress(req.socket.remoteAddress);
    if (noAuth && !peerIsLoopback) {
      sendJson(res, 403, { error: 'forbidden: this server runs without authentication (--no-auth-loopback) and answers loopback clients only' });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://placeholder');
    if (url.pathname === '/healthz' && req.method === 'GET') {
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (url.pathname !== '/mcp') {
      sendJson(res, 404, { error: 'not found: the MCP endpoint is /mcp' });
      return;
    }
    if (!hosts.hostAllowed(req.headers.host, peerIsLoopback)) {
      sendJson(res, 403, { error: 'forbidden: Host header not allowed (add the name the clients use to --allowed-hosts or http.allowedHosts)' });
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !hosts.originAllowed(origin, peerIsLoopback)) {
      sendJson(res, 403, { error: 'forbidden: Origin not allowed (http.allowedHosts, http.allowedOrigins)' });
      return;
    }
    let credential = noAuthCredential;
    if (!noAuth) {
      const presented = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (!presented || !tokenMatchesAny(presented, tokens)) {
        sendJson(res, 401, { error: 'unauthorized: send Authorization: Bearer <token> (SELFSCOPE_TOKEN, or the token file in the state directory)' }, { 'www-authenticate': 'Bearer realm="selfscope"' });
        return;
      }
      credential = credentialKey(presented);
    }
    await handleMcp(req, res, credential);
  }

  const httpServer = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const id = randomUUID().slice(0, 8);
      process.stderr.write(`[selfscope] http error ${id}: ${error instanceof Error ? error.stack : String(error)}\n`);
      jsonRpcError(res, 500, -32603, `Internal error (id ${id}); the server's stderr has the details.`);
    });
  });
  httpServer.requestTimeout = 0; // Event streams stay open; idle sessions are ended by the table.
  httpServer.headersTimeout = 30_000;
  // A client that vanished without closing its event stream is found out by TCP.
  httpServer.on('connection', (socket) => socket.setKeepAlive(true, 30_000));

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port, options.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const address = httpServer.address() as AddressInfo;
  port = address.port;
  if (noAuth && !isLoopbackAddress(address.address)) {
    // `localhost` resolved to something else: never serve without a token there.
    await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    throw new UserInputError(`--no-auth-loopback: ${options.host} resolved to ${address.address}, which is not a loopback address.`, { hint: 'Use --http 127.0.0.1:PORT.' });
  }

  const sweeper = setInterval(() => sessions.sweep(), Math.max(50, Math.min(60_000, idleS * 500)));
  sweeper.unref();

  // A client on this machine reaches a wildcard bind through loopback.
  const clientHost = isWildcardBind(options.host) ? (options.host === '0.0.0.0' ? '127.0.0.1' : '[::1]') : bracketed(options.host);
  return {
    url: `http://${clientHost}:${port}/mcp`,
    port,
    listening: `${bracketed(address.address)}:${port}`,
    async close() {
      clearInterval(sweeper);
      await sessions.closeAll();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
