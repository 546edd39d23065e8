import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './mcp-client.js';

export interface HttpServerProcess {
  child: ChildProcess;
  url: string;
  port: number;
  stderr(): string;
  /** Resolves once `pattern` appears on stderr; rejects after `timeoutMs` or if the server exits. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<number | null>;
}

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  // XDG_STATE_HOME: the suite's temporary private-state directory (test/setup), never the real one.
  const xdg = process.env['XDG_STATE_HOME'];
  return { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...(xdg ? { XDG_STATE_HOME: xdg } : {}), ...env };
}

async function until(check: () => boolean, failed: () => string | null, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    const why = failed();
    if (why !== null) throw new Error(why);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Starts `selfscope serve --http <listen>` (127.0.0.1:0 unless told otherwise) and waits
 * (bounded) for the endpoint it prints; a client on this machine reaches it over loopback.
 */
export async function startHttpServer(
  cwd: string,
  env: Record<string, string>,
  extraArgs: string[] = [],
  options: { listen?: string } = {},
): Promise<HttpServerProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--http', options.listen ?? '127.0.0.1:0', ...extraArgs], {
    cwd,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  const exited = () => (child.exitCode !== null || child.signalCode !== null ? `server exited: ${stderr}` : null);
  const endpoint = /MCP endpoint: (http:\/\/(?:127\.0\.0\.1|\[::1\]):(\d+)\/mcp)/;
  await until(() => endpoint.test(stderr), exited, 60_000, `the server to start: ${stderr}`);
  const match = endpoint.exec(stderr)!;
  return {
    child,
    url: match[1]!,
    port: Number(match[2]),
    stderr: () => stderr + stdout,
    waitForStderr: (pattern, timeoutMs = 60_000) => until(() => pattern.test(stderr), exited, timeoutMs, `${pattern} on the server's stderr`),
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      const done = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      return done;
    },
  };
}

/** Runs `selfscope serve …` expecting it to refuse to start; resolves with its exit code and output (bounded). */
export async function runServeToExit(cwd: string, env: Record<string, string>, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { cwd, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout!.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`selfscope serve ${args.join(' ')} did not exit within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}
