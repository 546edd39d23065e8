import { execFile } from 'node:child_process';
import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { runServeToExit, startHttpServer, type HttpServerProcess } from '../helpers/http-server.js';
import { CLI, connectStdio, type StdioSession } from '../helpers/mcp-client.js';
import { createTempRepo, type TempRepo } from '../helpers/temp-repo.js';

const TOKEN = 'choices-token-0123456789abcdef012345';
const ALL_NAMES = ALL_TOOLS.map((t) => t.name);
const MUTATING = ALL_TOOLS.filter((t) => !t.annotations.readOnlyHint).map((t) => t.name);
// XDG_STATE_HOME: the suite's temporary private-state directory (test/setup), never the real one.
const XDG = { XDG_STATE_HOME: process.env['XDG_STATE_HOME'] ?? '' };

interface Status {
  configuration: { read_only: boolean; toolsets: string[]; transport: string };
}

async function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'choices-test', version: '0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${TOKEN}`, ...headers } } });
  await client.connect(transport);
  return client;
}

async function status(client: Client): Promise<{ structured: Status; text: string }> {
  const result = await client.callTool({ name: 'selfscope_status', arguments: {} });
  expect(result.isError).toBeFalsy();
  return { structured: result.structuredContent as unknown as Status, text: (result.content as Array<{ text: string }>)[0]!.text };
}

let repo: TempRepo;
beforeAll(async () => {
  repo = await createTempRepo();
});
afterAll(async () => {
  await repo?.cleanup();
});

describe('a server started with SELFSCOPE_SERVER__READ_ONLY=true (stdio)', () => {
  let session: StdioSession;
  beforeAll(async () => {
    session = await connectStdio(repo.dir, [], { ...XDG, SELFSCOPE_SERVER__READ_ONLY: 'true' });
  }, 60_000);
  afterAll(async () => {
    await session?.close();
  });

  it('lists no mutating tool', async () => {
    const { tools } = await session.client.listTools();
    expect(tools.length).toBeGreaterThan(0);
    expect(tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
    expect(tools.map((t) => t.name)).toEqual(ALL_NAMES.filter((n) => !MUTATING.includes(n)));
  });

  it('lists no fix_anomaly prompt, and no check-run output resource', async () => {
    const { prompts } = await session.client.listPrompts();
    expect(prompts.map((p) => p.name).sort()).toEqual(['investigate', 'self_audit']);
    const { resourceTemplates } = await session.client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).not.toContain('selfscope://runs/{id}');
    expect(resourceTemplates.map((t) => t.uriTemplate)).toContain('selfscope://anomalies/{id}');
  });

  it('tells an investigation which of the tools it mentions this session lacks', async () => {
    const res = await session.client.getPrompt({ name: 'investigate', arguments: { symptom: 'the music skip thing is broken again' } });
    const text = res.messages.map((m) => (m.content as { text: string }).text).join('\n');
    expect(text).toMatch(/Note: this session does not have git_branch_create, run_typecheck, run_tests, git_commit, git_pr_create/);
  });

  it('reports read-only in selfscope_status', async () => {
    const { structured, text } = await status(session.client);
    expect(structured.configuration.read_only).toBe(true);
    expect(text).toMatch(/mode: read-only/);
  });
});

describe('choices per HTTP session', () => {
  let server: HttpServerProcess;
  beforeAll(async () => {
    server = await startHttpServer(repo.dir, { SELFSCOPE_TOKEN: TOKEN });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('gives a session with X-Selfscope-Toolsets: logs only core and logs, and a session without it everything', async () => {
    const narrowed = await connect(server.url, { 'X-Selfscope-Toolsets': 'logs' });
    const full = await connect(server.url);
    try {
      const coreAndLogs = ALL_TOOLS.filter((t) => t.toolset === 'core' || t.toolset === 'logs').map((t) => t.name);
      expect(coreAndLogs.length).toBeLessThan(ALL_NAMES.length);
      expect((await narrowed.listTools()).tools.map((t) => t.name)).toEqual(coreAndLogs);
      expect((await full.listTools()).tools.map((t) => t.name)).toEqual(ALL_NAMES);

      // Prompts and resources follow: investigate needs detect_anomalies (anomalies toolset).
      expect((await narrowed.listPrompts()).prompts.map((p) => p.name)).toEqual(['self_audit']);
      expect((await full.listPrompts()).prompts.map((p) => p.name).sort()).toEqual(['fix_anomaly', 'investigate', 'self_audit']);
      const uris = (await narrowed.listResources()).resources.map((r) => r.uri);
      expect(uris).toContain('selfscope://logs/recent');
      expect(uris).not.toContain('selfscope://anomalies/open');

      const a = await status(narrowed);
      expect(a.structured.configuration.toolsets).toEqual(['core', 'logs']);
      expect(a.text).toMatch(/narrowed by X-Selfscope-Toolsets/);
      const b = await status(full);
      expect(b.structured.configuration.toolsets).toEqual(['core', 'logs', 'anomalies', 'checks', 'git']);
      expect(b.text).not.toMatch(/narrowed/);
    } finally {
      await narrowed.close();
      await full.close();
    }
  });

  it('answers a bad choice header with 400 and a JSON-RPC error saying what is accepted, opening no session', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });
    const res = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: server.port,
          method: 'POST',
          path: '/mcp',
          headers: {
            host: `127.0.0.1:${server.port}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            authorization: `Bearer ${TOKEN}`,
            'x-selfscope-toolsets': 'logs,github',
          },
        },
        (r) => {
          let text = '';
          r.on('data', (c: Buffer) => (text += c.toString()));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(res.status).toBe(400);
    expect(res.headers['mcp-session-id']).toBeUndefined();
    const error = (JSON.parse(res.body) as { jsonrpc: string; error: { code: number; message: string } }).error;
    expect(error.code).toBe(-32600);
    expect(error.message).toMatch(/X-Selfscope-Toolsets.*unknown toolset "github".*Accepted: a comma-separated list of toolsets \(core, logs, anomalies, checks, git\)/);
  });
});

describe('a header cannot widen the server', () => {
  let server: HttpServerProcess;
  beforeAll(async () => {
    server = await startHttpServer(repo.dir, { SELFSCOPE_TOKEN: TOKEN, SELFSCOPE_SERVER__READ_ONLY: 'true' }, ['--deny-tools', 'git_diff']);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('stays read-only, and keeps a denied tool denied, whatever the session asks for', async () => {
    const client = await connect(server.url, {
      'X-Selfscope-Read-Only': 'false',
      'X-Selfscope-Toolsets': 'core,logs,anomalies,checks,git',
      'X-Selfscope-Allow-Tools': 'git_commit,git_diff,git_status,run_tests',
    });
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(['selfscope_status', 'git_status']);
      expect((await client.listPrompts()).prompts.map((p) => p.name)).not.toContain('fix_anomaly');
      const { structured } = await status(client);
      expect(structured.configuration.read_only).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('still serves a session without headers read-only, without the denied tool', async () => {
    const client = await connect(server.url);
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(ALL_NAMES.filter((n) => !MUTATING.includes(n) && n !== 'git_diff'));
    } finally {
      await client.close();
    }
  });
});

describe('configuration errors and `selfscope config`', () => {
  it('refuses to start with an unknown tool name, listing the valid ones', async () => {
    const { code, stderr } = await runServeToExit(repo.dir, { ...XDG, SELFSCOPE_SERVER__DENY_TOOLS: 'git_pr_merg' }, []);
    expect(code).toBe(1);
    expect(stderr).toMatch(/server\.denyTools \(from SELFSCOPE_SERVER__DENY_TOOLS\): unknown tool "git_pr_merg"; valid tools: .*git_pr_merge/);
  });

  it('shows the choices with their sources', async () => {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [CLI, 'config', '--json'],
        { cwd: repo.dir, timeout: 60_000, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...XDG, SELFSCOPE_SERVER__READ_ONLY: 'true', SELFSCOPE_SERVER__TOOLSETS: 'logs,anomalies' } },
        (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
      );
    });
    const { values, sources } = JSON.parse(stdout) as { values: Record<string, unknown>; sources: Record<string, string> };
    expect(values['server.readOnly']).toBe(true);
    expect(values['server.toolsets']).toEqual(['logs', 'anomalies']);
    expect(values['server.denyTools']).toEqual([]);
    expect(sources['server.readOnly']).toBe('env');
    expect(sources['server.toolsets']).toBe('env');
    expect(sources['server.allowTools']).toBe('default');
  });
});
