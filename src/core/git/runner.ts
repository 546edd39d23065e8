import { simpleGit, type SimpleGit } from 'simple-git';

/**
 * The one way selfscope runs git. Every call is an argv array (never a shell string),
 * and every call carries configuration that stops the repository's own config, hooks
 * and attributes from running programs: a repository an agent works in is not trusted.
 */

// `-c` settings applied to every git invocation.
export const HARDENED_GIT_CONFIG: readonly string[] = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'core.pager=cat',
  'core.editor=false',
  'core.askPass=',
  'credential.helper=',
  'diff.external=',
  'pager.branch=false',
  'maintenance.auto=false',
  'gc.auto=0',
  'protocol.ext.allow=never',
  'protocol.file.allow=always',
  'uploadpack.packObjectsHook=',
  'color.ui=false',
  'advice.detachedHead=false',
];

// Only these variables of selfscope's own environment reach git.
const GIT_ENV_ALLOWLIST = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR'];

export function gitEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of GIT_ENV_ALLOWLIST) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return {
    ...env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_NO_LAZY_FETCH: '1',
    GIT_PAGER: 'cat',
    GIT_OPTIONAL_LOCKS: '0',
    ...extra,
  };
}

export interface GitRunOptions {
  /** Extra environment for this call only (GIT_INDEX_FILE, author identity...). */
  env?: Record<string, string>;
  /** Extra `-c` settings for this call only. */
  config?: string[];
  timeoutMs?: number;
  signal?: AbortSignal;
}

// Repository config keys that name a program git would run: each one found is overridden
// for every call (filters with nothing, transports with git's own defaults).
const PROGRAM_KEYS = /^(filter\.[^\n]+\.(clean|smudge|process)|diff\.[^\n]+\.(textconv|command)|merge\.[^\n]+\.driver|remote\.[^\n]+\.(receivepack|uploadpack)|core\.sshcommand|core\.gitproxy|gpg\.program|gpg\.[^\n]+\.program|sequence\.editor|core\.editor|credential\.[^\n]*helper)$/i;

function neutralValue(key: string): string {
  const k = key.toLowerCase();
  if (k.endsWith('.receivepack')) return 'git-receive-pack';
  if (k.endsWith('.uploadpack')) return 'git-upload-pack';
  if (k === 'core.sshcommand') return 'ssh';
  return '';
}

export class GitRunner {
  private neutralizers: Promise<string[]> | null = null;

  constructor(readonly cwd: string, private readonly defaultTimeoutMs = 60_000) {}

  /** `-c` overrides for every program-running key the repository's own config sets. */
  private programOverrides(): Promise<string[]> {
    this.neutralizers ??= this.client({ config: [] }, [])
      .raw(['config', '--null', '--name-only', '--get-regexp', '.'])
      .then(
        (out) => [...new Set(out.split('\0').filter((k) => PROGRAM_KEYS.test(k)))].map((k) => `${k}=${neutralValue(k)}`),
        () => [],
      );
    return this.neutralizers;
  }

  private client(options: GitRunOptions, overrides: string[]): SimpleGit {
    const git = simpleGit({
      baseDir: this.cwd,
      maxConcurrentProcesses: 4,
      trimmed: false,
      config: [...HARDENED_GIT_CONFIG, ...overrides, ...(options.config ?? [])],
      timeout: { block: options.timeoutMs ?? this.defaultTimeoutMs },
      // simple-git counts a non-zero exit as success when stderr is empty (`--quiet`
      // commands); here every non-zero exit is a failure.
      errors: (error: Buffer | Error | undefined, result: { exitCode: number; stdErr: Buffer[]; stdOut: Buffer[] }) =>
        error ?? (result.exitCode !== 0 ? Buffer.concat([...result.stdErr, Buffer.from(`git exited with code ${result.exitCode}`)]) : undefined),
      ...(options.signal ? { abort: options.signal } : {}),
      // simple-git refuses these `-c` keys because a caller could point them at a program;
      // ours are constants that point them at nothing, and no user value is ever put in `-c`.
      unsafe: {
        allowUnsafeHooksPath: true,
        allowUnsafeFsMonitor: true,
        allowUnsafePager: true,
        allowUnsafeEditor: true,
        allowUnsafeAskPass: true,
        allowUnsafeCredentialHelper: true,
        allowUnsafeDiffExternal: true,
        allowUnsafeProtocolOverride: true,
        allowUnsafeFilter: true,
        allowUnsafeDiffTextConv: true,
        allowUnsafeMergeDriver: true,
        allowUnsafePack: true,
        allowUnsafeSshCommand: true,
        allowUnsafeGpgProgram: true,
        allowUnsafeGitProxy: true,
        allowUnsafeConfigEnvCount: true,
      },
    } as Parameters<typeof simpleGit>[0]);
    return git.env(gitEnvironment(options.env));
  }

  /** Runs `git <args>` and returns stdout. User values in `args` must follow `--end-of-options` or `--`. */
  async run(args: readonly string[], options: GitRunOptions = {}): Promise<string> {
    return this.client(options, await this.programOverrides()).raw([...args]);
  }
}
