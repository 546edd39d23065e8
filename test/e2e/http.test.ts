import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runServeToExit, startHttpServer, type HttpServerProcess } from '../helpers/http-server.js';
import { createTempRepo, type TempRepo } from '../helpers/temp-repo.js';

const TOKEN = 'test-token-0123456789abcdef0123456789';

function rawRequest(
  port: number,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: options.method ?? 'POST', path: options.path ?? '/mcp', headers: options.headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      // The server may close the socket after answering 413 while we are still sending.
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') resolve({ status: -1, headers: {}, body: '' });
      else reject(error);
    });
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
});

function mcpHeaders(port: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    host: `127.0.0.1:${port}`,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    authorization: `Bearer ${TOKEN}`,
    ...extra,
  };
}

async function connect(url: string, token = TOKEN): Promise<Client> {
  const client = new Client({ name: 'http-test', version: '0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  await client.connect(transport);
  return client;
}

let repo: TempRepo;
let server: HttpServerProcess;
beforeAll(async () => {
  repo = await createTempRepo();
  server = await startHttpServer(repo.dir, { SELFSCOPE_TOKEN: TOKEN });
});
afterAll(async () => {
  await server?.stop();
  await repo?.cleanup();
});

describe('selfscope serve --http', () => {
  it('serves MCP to a client with the token, with structured results', async () => {
    const client = await connect(server.url);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('selfscope_status');
      const result = await client.callTool({ name: 'selfscope_status', arguments: {} });
      expect(result.isError).toBeFalsy();
      expect((result.structuredContent as { configuration: { transport: string } }).configuration.transport).toBe('http');
    } finally {
      await client.close();
    }
  });

  it('refuses a request without a token (401)', async () => {
    const headers = mcpHeaders(server.port);
    delete headers['authorization'];
    const res = await rawRequest(server.port, { headers, body: initialize });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/Bearer/);
    expect(res.body).not.toContain(TOKEN);
  });

  it('refuses a wrong token (401), also through the SDK client', async () => {
    const res = await rawRequest(server.port, { headers: mcpHeaders(server.port, { authorization: 'Bearer wrong-token-wrong-token' }), body: initialize });
    expect(res.status).toBe(401);
    await expect(connect(server.url, 'wrong-token-wrong-token')).rejects.toThrow();
  });

  it('refuses a foreign Origin (403)', async () => {
    const res = await rawRequest(server.port, { headers: mcpHeaders(server.port, { origin: 'https://evil.example' }), body: initialize });
    expect(res.status).toBe(403);
  });

  it('accepts its own Origin', async () => {
    const res = await rawRequest(server.port, { headers: mcpHeaders(server.port, { origin: `http://127.0.0.1:${server.port}` }), body: initialize });
    expect(res.status).toBe(200);
  });

  it('refuses a foreign Host (403), the DNS-rebinding defence', async () => {
    const res = await rawRequest(server.port, { headers: mcpHeaders(server.port, { host: `evil.example:${server.port}` }), body: initialize });
    expect(res.status).toBe(403);
  });

  it('refuses an oversized body (413) and keeps serving', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { pad: 'x'.repeat(2 * 1024 * 1024) } });
    const res = await rawRequest(server.port, { headers: mcpHeaders(server.port), body: big });
    if (res.status !== -1) {
      expect(res.status).toBe(413);
      expect(JSON.parse(res.body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32600 } });
    }
    // Without a declared length the cap applies while reading, too.
    const chunked = await rawRequest(server.port, { headers: { ...mcpHeaders(server.port), 'transfer-encoding': 'chunked' }, body: big });
    expect([413, -1]).toContain(chunked.status);
    expect(res.status === 413 || chunked.status === 413).toBe(true);
    const ok = await rawRequest(server.port, { headers: mcpHeaders(server.port), body: initialize });
    expect(ok.status).toBe(200);
  });

  it('answers malformed JSON with a JSON-RPC parse error, not HTML or a stack', async () => {
    const res = await rawRequest(server.port, { headers: mcpHeaders(server.port), body: '{"jsonrpc": "2.0", "id": 1, "method": ' });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const body = JSON.parse(res.body) as { error: { code: number; message: string } };
    expect(body.error.code).toBe(-32700);
    expect(res.body).not.toMatch(/at .*\.js:\d+/);
  });

  it('gives two clients at once their own sessions and answers', async () => {
    const [a, b] = await Promise.all([connect(server.url), connect(server.url)]);
    try {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).callTool({ name: 'selfscope_status', arguments: {} }).then((r) => ({ i, r }))),
      );
      for (const { r } of results) expect(r.isError).toBeFalsy();
      const ids = [(a as unknown as { _transport: StreamableHTTPClientTransport })._transport.sessionId, (b as unknown as { _transport: StreamableHTTPClientTransport })._transport.sessionId];
      expect(ids[0]).toBeTruthy();
      expect(ids[0]).not.toBe(ids[1]);
      // Each session's server has its own prompts with working completions.
      for (const c of [a, b]) {
        expect((await c.listPrompts()).prompts.map((p) => p.name)).toContain('self_audit');
        expect((await c.complete({ ref: { type: 'ref/prompt', name: 'self_audit' }, argument: { name: 'period', value: '7' } })).completion.values).toEqual(['7d']);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('ends a session on DELETE /mcp; the session id is then unknown (404)', async () => {
    const init = await rawRequest(server.port, { headers: mcpHeaders(server.port), body: initialize });
    const sessionId = init.headers['mcp-session-id'] as string;
    expect(sessionId).toBeTruthy();
    const del = await rawRequest(server.port, { method: 'DELETE', headers: mcpHeaders(server.port, { 'mcp-session-id': sessionId }) });
    expect(del.status).toBe(200);
    const after = await rawRequest(server.port, {
      headers: mcpHeaders(server.port, { 'mcp-session-id': sessionId }),
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(after.status).toBe(404);
  });

  it('answers /healthz without a token and reveals nothing', async () => {
    const res = await rawRequest(server.port, { method: 'GET', path: '/healthz', headers: { host: `127.0.0.1:${server.port}` } });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
    expect(res.body).not.toContain(repo.dir);
  });

  it('never prints the token', () => {
    expect(server.stderr()).not.toContain(TOKEN);
  });
});

describe('token file', () => {
  it('generates a token on first start, stores it with mode 0600, prints only its path', async () => {
    const other = await createTempRepo();
    const proc = await startHttpServer(other.dir, {});
    try {
      const file = path.join(other.dir, '.selfscope', 'http-token');
      const stat = await fs.stat(file);
      expect(stat.mode & 0o777).toBe(0o600);
      const token = (await fs.readFile(file, 'utf8')).trim();
      expect(token).toMatch(/^[0-9a-f]{64}$/);
      expect(proc.stderr()).toContain(file);
      expect(proc.stderr()).not.toContain(token);
      const client = await connect(proc.url, token);
      expect((await client.listTools()).tools.length).toBeGreaterThan(0);
      await client.close();
    } finally {
      expect(await proc.stop()).toBe(0);
      await other.cleanup();
    }
  });
});

describe('--read-only over HTTP', () => {
  it('hides every non-read-only tool', async () => {
    const proc = await startHttpServer(repo.dir, { SELFSCOPE_TOKEN: TOKEN }, ['--read-only']);
    try {
      const client = await connect(proc.url);
      const { tools } = await client.listTools();
      expect(tools.length).toBeGreaterThan(0);
      expect(tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
      await client.close();
    } finally {
      await proc.stop();
    }
  });
});

/**
 * Starts a POST on session `sessionId` and sends its headers only: the request is in flight
 * until `finish()` sends the body. Resolves once the server has taken the request
 * (`Expect: 100-continue`: the server runs its handler in the same turn as it answers 100).
 */
function startRequestInFlight(port: number, sessionId: string, token = TOKEN): Promise<{ finish(): Promise<{ status: number; body: string }> }> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' });
  return new Promise((resolve, reject) => {
    let answered: (r: { status: number; body: string }) => void;
    const response = new Promise<{ status: number; body: string }>((r) => (answered = r));
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/mcp',
        headers: {
          ...mcpHeaders(port, { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' }),
          authorization: `Bearer ${token}`,
          expect: '100-continue',
          'content-length': String(Buffer.byteLength(body)),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => answered({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.on('continue', () =>
      resolve({
        finish: () => {
          req.end(body);
          return response;
        },
      }),
    );
    req.flushHeaders();
  });
}

/** Opens the GET event stream of a session; resolves once the server has answered its headers. */
function openEventStream(port: number, sessionId: string): Promise<{ status: number; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'GET', path: '/mcp', headers: { ...mcpHeaders(port, { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' }), accept: 'text/event-stream' } },
      (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, close: () => req.destroy() });
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? undefined : reject(error)));
    req.end();
  });
}

async function openSession(port: number, token = TOKEN): Promise<string> {
  const init = await rawRequest(port, { headers: mcpHeaders(port, { authorization: `Bearer ${token}` }), body: initialize });
  expect(init.status).toBe(200);
  const sessionId = init.headers['mcp-session-id'];
  expect(typeof sessionId).toBe('string');
  return sessionId as string;
}

function listTools(port: number, sessionId: string, token = TOKEN) {
  return rawRequest(port, {
    headers: mcpHeaders(port, { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18', authorization: `Bearer ${token}` }),
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
  });
}

/** Polls `attempt` until it returns a value (bounded), for a state the server reaches asynchronously. */
async function eventually<T>(attempt: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('sessions of clients that never end them', () => {
  it('admits a new client after 40 clients connected and closed without DELETE (http.maxSessions is 32)', async () => {
    for (let i = 0; i < 40; i++) {
      const client = await connect(server.url);
      await client.close();
    }
    const client = await connect(server.url);
    try {
      expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });

  it('ends the least recently used idle session to admit a new one, never one with a request in flight', async () => {
    const proc = await startHttpServer(repo.dir, { SELFSCOPE_TOKEN: TOKEN, SELFSCOPE_HTTP__MAX_SESSIONS: '2' }, ['--log-level', 'info']);
    try {
      const busy = await openSession(proc.port); // the least recently used…
      const inFlight = await startRequestInFlight(proc.port, busy); // …but busy
      const idle = await openSession(proc.port);
      const newcomer = await openSession(proc.port);
      expect((await listTools(proc.port, idle)).status).toBe(404);
      const done = await inFlight.finish();
      expect(done.status).toBe(200);
      expect(done.body).toContain('selfscope_status');
      expect((await listTools(proc.port, busy)).status).toBe(200);
      expect((await listTools(proc.port, newcomer)).status).toBe(200);
      expect(proc.stderr()).toMatch(/ended the least recently used idle one/);
    } finally {
      await proc.stop();
    }
  });

  it('prefers a session without an open event stream, then the least recently used', async () => {
    const proc = await startHttpServer(repo.dir, { SELFSCOPE_TOKEN: TOKEN, SELFSCOPE_HTTP__MAX_SESSIONS: '2' });
    try {
      const listening = await openSession(proc.port);
      const stream = await openEventStream(proc.port, listening);
      expect(stream.status).toBe(200);
      const quiet = await openSession(proc.port);
      await openSession(proc.port); // full: `quiet` goes, although `listening` is older
      expect((await listTools(proc.port, quiet)).status).toBe(404);
      expect((await listTools(proc.port, listening)).status).toBe(200);
      stream.close();
    } finally {
      await proc.stop();
    }
  });

  it('answers 503 with Retry-After only when every session has a request in flight', async () => {
    const proc = await startHttpServer(repo.dir, { SELFSCOPE_TOKEN: TOKEN, SELFSCOPE_HTTP__MAX_SESSIONS: '1' });
    try {
      const busy = await openSession(proc.port);
      const inFlight = await startRequestInFlight(proc.port, busy);
      const refused = await rawRequest(proc.port, { headers: mcpHeaders(proc.port), body: initialize });
      expect(refused.status).toBe(503);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(JSON.parse(refused.body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
      expect((await inFlight.finish()).status).toBe(200);
      // Once its request is over the session is idle, and makes room.
      const admitted = await eventually(async () => {
        const res = await rawRequest(proc.port, { headers: mcpHeaders(proc.port), body: initialize });
        return res.status === 503 ? undefined : res;
      }, 'the busy session to become idle');
      expect(admitted.status).toBe(200);
      expect((await listTools(proc.port, busy)).status).toBe(404);
    } finally {
      await proc.stop();
    }
  });
});

describe('session expiry', () => {
  it('ends a session idle longer than http.sessionIdleS, but not one with an open event stream', async () => {
    const proc = await startHttpServer(repo.dir, { SELFSCOPE_TOKEN: TOKEN, SELFSCOPE_HTTP__SESSION_IDLE_S: '3' }, ['--log-level', 'debug']);
    try {
      const listening = await openSession(proc.port);
      const stream = await openEventStream(proc.port, listening);
      expect(stream.status).toBe(200);
      const idle = await openSession(proc.port);
      expect((await listTools(proc.port, idle)).status).toBe(200);
      // Idle time is what is under test: wait (bounded) for the sweeper to end a session.
      await proc.waitForStderr(/a session idle for 3 s ended/);
      expect((await listTools(proc.port, idle)).status).toBe(404);
      expect((await listTools(proc.port, listening)).status).toBe(200);
      stream.close();
    } finally {
      await proc.stop();
    }
  });
});

describe('sessions are bound to the token that opened them', () => {
  const OTHER = 'other-token-0123456789abcdef0123456';
  it('answers 404 to the same session id with another valid token, and leaves the session alone', async () => {
    const proc = await startHttpServer(repo.dir, { SELFSCOPE_TOKEN: `${TOKEN},${OTHER}` });
    try {
      const sessionId = await openSession(proc.port, TOKEN);
      expect((await listTools(proc.port, sessionId, OTHER)).status).toBe(404);
      const del = await rawRequest(proc.port, { method: 'DELETE', headers: mcpHeaders(proc.port, { 'mcp-session-id': sessionId, authorization: `Bearer ${OTHER}` }) });
      expect(del.status).toBe(404);
      const get = await rawRequest(proc.port, { method: 'GET', headers: mcpHeaders(proc.port, { 'mcp-session-id': sessionId, authorization: `Bearer ${OTHER}`, accept: 'text/event-stream' }) });
      expect(get.status).toBe(404);
      expect((await listTools(proc.port, sessionId, TOKEN)).status).toBe(200);
      // Both tokens open sessions of their own.
      const other = await connect(proc.url, OTHER);
      expect((await other.listTools()).tools.length).toBeGreaterThan(0);
      await other.close();
    } finally {
      await proc.stop();
    }
  });
});

describe('allowed hosts', () => {
  it('on a 0.0.0.0 bind: loopback names from a loopback peer, configured names, nothing else', async () => {
    // Listens on every interface for this test only; it still needs the token, and the test talks over 127.0.0.1.
    const proc = await startHttpServer(repo.dir, { SELFSCOPE_TOKEN: TOKEN }, ['--allowed-hosts', 'mcp.example.test,alt.example.test:8443'], { listen: '0.0.0.0:0' });
    try {
      expect(proc.stderr()).toMatch(/listening on 0\.0\.0\.0:\d+/);
      const status = async (extra: Record<string, string>) => (await rawRequest(proc.port, { headers: mcpHeaders(proc.port, extra), body: initialize })).status;
      expect(await status({ host: `localhost:${proc.port}` })).toBe(200);
      expect(await status({ host: `127.0.0.1:${proc.port}` })).toBe(200);
      expect(await status({ host: `[::1]:${proc.port}` })).toBe(200);
      expect(await status({ host: 'mcp.example.test' })).toBe(200);
      expect(await status({ host: 'MCP.example.test:443' })).toBe(200);
      expect(await status({ host: 'alt.example.test:8443' })).toBe(200);
      expect(await status({ host: 'alt.example.test:9000' })).toBe(403);
      expect(await status({ host: `evil.example:${proc.port}` })).toBe(403);
      expect(await status({ host: `localhost:${proc.port + 1}` })).toBe(403);
      // Origin checks follow the same list.
      expect(await status({ host: 'mcp.example.test', origin: 'https://mcp.example.test' })).toBe(200);
      expect(await status({ host: `localhost:${proc.port}`, origin: `http://localhost:${proc.port}` })).toBe(200);
      expect(await status({ host: 'mcp.example.test', origin: 'https://evil.example' })).toBe(403);
      expect(await status({ host: `localhost:${proc.port}`, origin: 'http://localhost:3000' })).toBe(403);
    } finally {
      await proc.stop();
    }
  });

  it('takes http.allowedHosts from the environment as a comma-separated list', async () => {
    const proc = await startHttpServer(repo.dir, { SELFSCOPE_TOKEN: TOKEN, SELFSCOPE_HTTP__ALLOWED_HOSTS: 'proxy.example.test, other.example.test' });
    try {
      const status = async (host: string) => (await rawRequest(proc.port, { headers: mcpHeaders(proc.port, { host }), body: initialize })).status;
      expect(await status('proxy.example.test')).toBe(200);
      expect(await status('other.example.test:8080')).toBe(200);
      expect(await status(`127.0.0.1:${proc.port}`)).toBe(200);
      expect(await status('unknown.example.test')).toBe(403);
    } finally {
      await proc.stop();
    }
  });

  it('refuses a malformed --allowed-hosts at start (usage error)', async () => {
    const result = await runServeToExit(repo.dir, { SELFSCOPE_TOKEN: TOKEN }, ['--http', '127.0.0.1:0', '--allowed-hosts', 'https://mcp.example.test/']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/not a list of host names/);
    expect(result.stderr).not.toMatch(/MCP endpoint/);
  });
});

describe('--no-auth-loopback', () => {
  it('serves without a token on a loopback bind, with the Host checks still on', async () => {
    const proc = await startHttpServer(repo.dir, {}, ['--no-auth-loopback']);
    try {
      expect(proc.stderr()).toMatch(/bearer token: none \(--no-auth-loopback\)/);
      const client = new Client({ name: 'no-auth', version: '0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(proc.url)));
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('selfscope_status');
      await client.close();
      const headers = mcpHeaders(proc.port, { host: `evil.example:${proc.port}` });
      delete headers['authorization'];
      expect((await rawRequest(proc.port, { headers, body: initialize })).status).toBe(403);
    } finally {
      await proc.stop();
    }
  });

  it('refuses to start on a non-loopback bind', async () => {
    for (const listen of ['0.0.0.0:0', '[::]:0']) {
      const result = await runServeToExit(repo.dir, {}, ['--http', listen, '--no-auth-loopback']);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/--no-auth-loopback serves only on a loopback address/);
      expect(result.stderr).not.toMatch(/MCP endpoint/);
    }
  });
});
