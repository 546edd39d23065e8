import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './mcp-client.js';

export interface HttpServerProcess {
  child: ChildProcess;
  url: string;
  port: number;
  stderr(): string;
  stop(): Promise<number | null>;
}

/** Starts `selfscope serve --http 127.0.0.1:0` and waits (bounded) for the endpoint it prints. */
export async function startHttpServer(cwd: string, env: Record<string, string>, extraArgs: string[] = []): Promise<HttpServerProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--http', '127.0.0.1:0', ...extraArgs], {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  const deadline = Date.now() + 15_000;
  let match: RegExpExecArray | null = null;
  while (!(match = /MCP endpoint: (http:\/\/127\.0\.0\.1:(\d+)\/mcp)/.exec(stderr))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    child,
    url: match[1]!,
    port: Number(match[2]),
    stderr: () => stderr + stdout,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      return exited;
    },
  };
}
