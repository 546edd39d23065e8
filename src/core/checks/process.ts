import { ConfigurationError } from '../errors.js';
import { isBwrapCommandNotFound, sandboxedArgv, type SandboxSpec } from './sandbox.js';

/**
 * Runs a check command safely: argv only (no shell), a clean environment, its own process
 * group (so a test that forks `sleep 1000 &` is killed with it), output captured up to a
 * byte cap while the pipes are always drained, a timeout and cancellation that kill the
 * whole group. With a sandbox spec the command runs inside bubblewrap (see sandbox.ts):
 * killing bwrap's group then ends every process of the run, even one that left the group
 * with `setsid`, because the sandbox has its own PID namespace and dies with its parent.
 */

export interface ProcessResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  cancelled: boolean;
  durationMs: number;
  /** Captured output (stdout and stderr interleaved), at most the cap: head and tail. */
  output: string;
  outputBytes: number;
  droppedBytes: number;
}

export interface RunProcessOptions {
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
  maxOutputBytes: number;
  onOutput?: (chunk: string) => void;
  /** Run inside this bubblewrap sandbox (HOME and TMPDIR are then the sandbox's own). */
  sandbox?: SandboxSpec;
}

const KILL_GRACE_MS = 2000;

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

/** Keeps the first and the last half of the cap; counts what fell in between. */
class CappedOutput {
  private head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  total = 0;

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    const half = Math.floor(this.cap / 2);
    if (this.headBytes < half) {
      const take = chunk.subarray(0, half - this.headBytes);
      this.head.push(take);
      this.headBytes += take.length;
      chunk = chunk.subarray(take.length);
      if (chunk.length === 0) return;
    }
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tailBytes - (this.tail[0]?.length ?? 0) >= half && this.tail.length > 1) {
      this.tailBytes -= this.tail.shift()!.length;
    }
  }

  get dropped(): number {
    return this.total - this.headBytes - this.tailBytes;
  }

  text(): string {
    const head = Buffer.concat(this.head).toString('utf8');
    let tail = Buffer.concat(this.tail);
    if (tail.length > Math.floor(this.cap / 2)) tail = tail.subarray(tail.length - Math.floor(this.cap / 2));
    const dropped = this.total - this.headBytes - tail.length;
    return dropped > 0 ? `${head}\n…[${dropped} bytes of output dropped]…\n${tail.toString('utf8')}` : head + tail.toString('utf8');
  }
}

export async function runProcess(argv: readonly string[], options: RunProcessOptions): Promise<ProcessResult> {
  const command = argv[0];
  if (!command) throw new ConfigurationError('Empty check command.', { hint: 'Give the command as a non-empty argv array.' });
  const [executable, ...args] = options.sandbox ? sandboxedArgv(options.sandbox, argv) : argv;
  const started = Date.now();
  const output = new CappedOutput(options.maxOutputBytes);
  let timedOut = false;
  let cancelled = false;

  const { execa } = await import('execa');
  const child = execa(executable!, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    stdin: 'ignore',
    detached: true, // its own process group, so the whole tree can be killed
    buffer: false,
    reject: false,
    cleanup: true,
    windowsHide: true,
  });
  const onData = (chunk: Buffer) => {
    output.push(chunk);
    options.onOutput?.(chunk.toString('utf8'));
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);

  const stop = (why: 'timeout' | 'cancel') => {
    if (why === 'timeout') timedOut = true;
    else cancelled = true;
    killGroup(child.pid, 'SIGTERM');
    setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS).unref();
  };
  const timer = setTimeout(() => stop('timeout'), options.timeoutMs);
  const onAbort = () => stop('cancel');
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort);
  // When the main process exits, whatever it left running in its group goes too: a
  // forked `sleep 1000 &` must neither survive nor hold the pipes (and the result) open.
  child.once('exit', () => killGroup(child.pid, 'SIGKILL'));

  const result = await child;
  clearTimeout(timer);
  options.signal?.removeEventListener('abort', onAbort);
  if ((result as { code?: string }).code === 'ENOENT' && options.sandbox) {
    throw new ConfigurationError('"bwrap" is not installed or not on PATH.', {
      hint: 'Install bubblewrap (for example: apt-get install bubblewrap), or set checks.sandbox to "off" to run checks unsandboxed.',
    });
  }
  const failedToStart = (result as { code?: string }).code === 'ENOENT' || (options.sandbox !== undefined && !timedOut && !cancelled && isBwrapCommandNotFound(output.text(), result.exitCode ?? null, command));
  if (failedToStart) {
    throw new ConfigurationError(`"${command}" is not installed or not on PATH.`, {
      hint: `Install ${command} (for example: ${command === 'bun' ? 'curl -fsSL https://bun.sh/install | bash, or npm i -g bun' : command === 'pnpm' || command === 'yarn' ? `npm i -g ${command}` : `the package that provides ${command}`}), or set checks.typecheck / checks.test to a command that exists.`,
    });
  }
  return {
    exitCode: result.exitCode ?? null,
    signal: result.signal ?? null,
    timedOut,
    cancelled,
    durationMs: Date.now() - started,
    output: output.text(),
    outputBytes: output.total,
    droppedBytes: output.dropped,
  };
}

/** The environment a check sees: only the allowlisted variables, and the configured extras. */
export function checkEnvironment(allowlist: readonly string[], extra: Record<string, string>, source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of allowlist) {
    const value = source[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, CI: env['CI'] ?? 'true', NO_COLOR: '1', FORCE_COLOR: '0', ...extra };
}
