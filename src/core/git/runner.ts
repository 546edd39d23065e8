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

export class GitRunner {
  constructor(readonly cwd: string, private readonly defaultTimeoutMs = 60_000) {}

  private client(options: GitRunOptions): SimpleGit {
    const git = simpleGit({
      baseDir: this.cwd,
      maxConcurrentProcesses: 4,
      trimmed: false,
      config: [...HARDENED_GIT_CONFIG, ...(options.config ?? [])],
      timeout: { block: options.timeoutMs ?? this.defaultTimeoutMs },
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
      },
    } as Parameters<typeof simpleGit>[0]);
    return git.env(gitEnvironment(options.env));
  }

  /** Runs `git <args>` and returns stdout. User values in `args` must follow `--end-of-options` or `--`. */
  async run(args: readonly string[], options: GitRunOptions = {}): Promise<string> {
    return this.client(options).raw([...args]);
  }
}
