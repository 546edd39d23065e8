import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { git } from '../../helpers/temp-repo.js';

/**
 * Local stand-ins for the network in git egress tests: a smart-HTTP git server (node http +
 * `git http-backend` as CGI) playing GitHub on a loopback address, and a trap that records
 * every TCP connection (an impostor host, a proxy, a pushurl) and answers nothing.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

export interface GitHttpServer {
  /** e.g. http://127.0.0.1:PORT (no trailing slash). */
  base: string;
  port: number;
  root: string;
  requests: RecordedRequest[];
  /** A bare repository served at `<base>/<owner>/<repo>.git`. */
  createRepository(owner: string, repo: string): Promise<string>;
  close(): Promise<void>;
}

export async function startGitHttpServer(options: { host?: string; expectAuthorization?: string; hostname?: string } = {}): Promise<GitHttpServer> {
  const root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-git-http-')));
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({ method: req.method ?? '', path: url.pathname, headers: req.headers });
    if (options.expectAuthorization !== undefined && req.headers['authorization'] !== options.expectAuthorization) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="test"' }).end('unauthorized');
      return;
    }
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: root,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        REMOTE_USER: 'selfscope-test',
        REMOTE_ADDR: '127.0.0.1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.replace(/^\?/, ''),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) } : {}),
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
        // Hooks of the served repository may read it: the tests check what leaks back.
        HTTP_AUTHORIZATION: req.headers['authorization'] ?? '',
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    req.pipe(child.stdin);
    child.stdin.on('error', () => {});
    let head = Buffer.alloc(0);
    let headerDone = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headerDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      let end = head.indexOf('\r\n\r\n');
      let sep = 4;
      if (end < 0) {
        end = head.indexOf('\n\n');
        sep = 2;
      }
      if (end < 0) return;
      headerDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + sep));
    });
    child.on('close', () => {
      if (!headerDone) res.writeHead(500).end();
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    base: `http://${options.hostname ?? options.host ?? '127.0.0.1'}:${port}`,
    port,
    root,
    requests,
    async createRepository(owner: string, repo: string) {
      const dir = path.join(root, owner, `${repo}.git`);
      await fs.mkdir(dir, { recursive: true });
      await git(dir, ['init', '-q', '--bare', '-b', 'main']);
      return dir;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

export interface Trap {
  host: string;
  port: number;
  /** Connections received: each a planted redirection that worked. */
  connections: number;
  close(): Promise<void>;
}

/** A TCP listener that counts connections and closes them at once. */
export async function startTrap(host = '127.0.0.1', port = 0): Promise<Trap> {
  const sockets = new Set<net.Socket>();
  const trap: Trap = { host, port: 0, connections: 0, close: async () => {} };
  const server = net.createServer((socket) => {
    trap.connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  trap.port = (server.address() as net.AddressInfo).port;
  trap.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return trap;
}
