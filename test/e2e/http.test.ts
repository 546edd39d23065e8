import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer, type HttpServerProcess } from '../helpers/http-server.js';
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

describe('session expiry', () => {
  it('ends a session idle longer than http.sessionIdleS', async () => {
    const proc = await startHttpServer(repo.dir, { SELFSCOPE_TOKEN: TOKEN, SELFSCOPE_HTTP__SESSION_IDLE_S: '1' });
    try {
      const init = await rawRequest(proc.port, { headers: mcpHeaders(proc.port), body: initialize });
      const sessionId = init.headers['mcp-session-id'] as string;
      const list = () =>
        rawRequest(proc.port, {
          headers: mcpHeaders(proc.port, { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' }),
          body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
        });
      expect((await list()).status).toBe(200);
      // Idle time is what is under test here, so time has to pass.
      await new Promise((r) => setTimeout(r, 1300));
      expect((await list()).status).toBe(404);
    } finally {
      await proc.stop();
    }
  });
});
