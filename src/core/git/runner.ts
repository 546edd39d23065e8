import fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigurationError, UserInputError } from '../errors.js';

/**
 * The one way selfscope runs git. Every call is an argv array (never a shell string), and
 * every call carries configuration that stops the repository's own config, hooks,
 * attributes and submodules from running programs: a repository an agent works in is not
 * trusted, and neither is any git configuration it can write (`.git/config`,
 * `config.worktree`, included files).
 *
 * - Settings go through `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n` (the
 *   command-line scope, read after every file), never `-c`: a key is passed verbatim, so a
 *   driver name holding `=` cannot split it.
 * - Before each call, the keys the repository's config sets that name a program (filters,
 *   diff and merge drivers, editors, helpers...) are read and overridden with nothing.
 * - The repository is located once per runner and pinned (`GIT_DIR`, `GIT_WORK_TREE`): a
 *   `.git` file rewritten half-way through an engine call cannot send its later calls to
 *   another repository, and `core.worktree` cannot move the work tree away from `cwd`.
 *   A linked worktree must point back at itself from its entry in the repository.
 * - No transport is allowed: reading and writing the repository never needs the network
 *   or another repository. Pushes go through {@link runIsolatedGit} instead.
 */

// Settings applied to every git invocation of a repository, as `key=value`.
export const HARDENED_GIT_CONFIG: readonly string[] = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'core.pager=cat',
  'core.editor=false',
  'sequence.editor=false',
  'core.askPass=',
  'credential.helper=',
  'diff.external=',
  'diff.submodule=short',
  'diff.ignoreSubmodules=all',
  'status.submoduleSummary=false',
  'submodule.recurse=false',
  'fetch.recurseSubmodules=false',
  'push.recurseSubmodules=no',
  'pager.branch=false',
  'maintenance.auto=false',
  'gc.auto=0',
  'commit.gpgSign=false',
  'tag.gpgSign=false',
  'log.showSignature=false',
  'uploadpack.packObjectsHook=',
  // No transport at all: nothing selfscope does in a repository fetches or pushes.
  'protocol.allow=never',
  'protocol.file.allow=never',
  'protocol.ext.allow=never',
  'protocol.ssh.allow=never',
  'protocol.git.allow=never',
  'protocol.http.allow=never',
  'protocol.https.allow=never',
  // A bare repository planted inside a worktree is never picked up by discovery.
  'safe.bareRepository=explicit',
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
  /** Extra `key=value` settings for this call only (constants, never user values). */
  config?: string[];
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface GitBytesOptions extends GitRunOptions {
  /** Written to git's stdin. */
  input?: string | Buffer;
  /** Most stdout bytes accepted; more fails the call. */
  maxBytes?: number;
}

const DEFAULT_MAX_STDOUT = 256 * 1024 * 1024;
const MAX_STDERR = 64 * 1024;

/** git exited non-zero, timed out, or said too much. The message is git's stderr (bounded). */
export class GitCommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    /** The start of stdout (porcelain outputs report there), bounded. */
    readonly stdout: string = '',
  ) {
    super(message);
    this.name = 'GitCommandError';
  }
}

function splitSetting(setting: string): [string, string] {
  const i = setting.indexOf('=');
  return i < 0 ? [setting, ''] : [setting.slice(0, i), setting.slice(i + 1)];
}

/** `GIT_CONFIG_COUNT` and its pairs for these settings. */
export function configEnvironment(settings: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(settings.length) };
  settings.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

interface SpawnOptions {
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  input?: string | Buffer | undefined;
  maxBytes?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Strings scrubbed from the error message (a token and its encodings). */
  scrub?: readonly string[] | undefined;
}

function scrubbed(text: string, secrets: readonly string[] | undefined): string {
  let out = text;
  for (const s of secrets ?? []) if (s) out = out.split(s).join('[token]');
  return out;
}

/** Runs git with exactly `env` (nothing inherited), bounded in time and output. */
async function spawnGit(args: readonly string[], options: SpawnOptions): Promise<{ stdout: Buffer; stderr: string }> {
  if (options.signal?.aborted) throw new GitCommandError('git was not started: the call was aborted', null, '');
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_STDOUT;
  // Imported at the first git call: a server answers tools/list without loading execa.
  const { execa } = await import('execa');
  const result = await execa('git', [...args], {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    input: options.input ?? '',
    encoding: 'buffer',
    stripFinalNewline: false,
    maxBuffer: { stdout: maxBytes, stderr: MAX_STDERR },
    timeout: options.timeoutMs,
    killSignal: 'SIGKILL',
    ...(options.signal ? { cancelSignal: options.signal } : {}),
    reject: false,
    windowsHide: true,
  });
  const stdout = Buffer.from(result.stdout ?? new Uint8Array());
  const stderr = scrubbed(Buffer.from(result.stderr ?? new Uint8Array()).toString('utf8').slice(0, MAX_STDERR), options.scrub);
  if ((result as { code?: string }).code === 'ENOENT') throw new GitCommandError('git could not be started: it is not installed or not on PATH', null, '');
  if (result.failed) {
    const why = result.timedOut
      ? `git timed out after ${options.timeoutMs} ms`
      : result.isCanceled
        ? 'git was stopped: the call was aborted'
        : result.isMaxBuffer
          ? `git wrote more than ${maxBytes} bytes`
          : `git exited with code ${result.exitCode ?? result.signal}`;
    const shown = scrubbed(stdout.subarray(0, 4096).toString('utf8'), options.scrub);
    throw new GitCommandError(`${stderr.trim() ? `${stderr.trim()}\n` : ''}${why}`, result.exitCode ?? null, stderr, shown);
  }
  return { stdout, stderr };
}

// Repository config keys that name a program git would run (or that let one run): each one
// the configuration sets is overridden for every call. Keys are matched lowercased; the
// override uses the key exactly as git listed it (a subsection keeps its case).
const PROGRAM_KEYS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^filter\..+\.(clean|smudge|process)$/, ''],
  [/^filter\..+\.required$/, 'false'],
  [/^diff\..+\.(textconv|command)$/, ''],
  [/^diff\.external$/, ''],
  [/^merge\..+\.driver$/, ''],
  [/^(mergetool|difftool)\..+\.(cmd|path)$/, ''],
  [/^remote\..+\.receivepack$/, 'git-receive-pack'],
  [/^remote\..+\.uploadpack$/, 'git-upload-pack'],
  [/^remote\..+\.vcs$/, ''],
  [/^core\.sshcommand$/, 'ssh'],
  [/^ssh\.variant$/, 'ssh'],
  [/^core\.gitproxy$/, ''],
  [/^core\.askpass$/, ''],
  [/^(core|sequence)\.editor$/, 'false'],
  [/^core\.pager$/, 'cat'],
  [/^pager\.[^.]+$/, 'false'],
  [/^core\.fsmonitor$/, 'false'],
  [/^core\.hookspath$/, '/dev/null'],
  [/^hook\..+\.command$/, ''],
  [/^core\.alternaterefscommand$/, ''],
  [/^uploadpack\.packobjectshook$/, ''],
  [/^gpg\.program$/, ''],
  [/^gpg\..+\.program$/, ''],
  [/^gpg\.ssh\.defaultkeycommand$/, ''],
  [/^(commit|tag|push)\.gpgsign$/, 'false'],
  [/^log\.showsignature$/, 'false'],
  [/^credential\.(.+\.)?helper$/, ''],
  [/^trailer\..+\.(command|cmd)$/, ''],
  [/^(browser|man)\..+\.(cmd|path)$/, ''],
  [/^tar\..+\.command$/, ''],
  [/^submodule\..+\.update$/, 'none'],
  [/^submodule\.recurse$/, 'false'],
  [/^protocol\.(.+\.)?allow$/, 'never'],
];

/** The neutral value for a config key that names a program, or null when it names none. */
export function neutralValue(key: string): string | null {
  const k = key.toLowerCase();
  for (const [pattern, value] of PROGRAM_KEYS) if (pattern.test(k)) return value;
  return null;
}

// Commands that examine populated submodules (a `git status` in each) whatever the
// configuration says; status and diff are run with --ignore-submodules=all instead.
const SUBMODULE_SENSITIVE = new Set(['add', 'update-index', 'commit', 'stash', 'rm', 'mv', 'checkout', 'switch', 'restore', 'reset', 'read-tree', 'merge', 'rebase', 'cherry-pick', 'revert', 'diff-files', 'diff-index']);
const MAX_SUBMODULES = 100;

const STATIC_SETTINGS: ReadonlyArray<readonly [string, string]> = HARDENED_GIT_CONFIG.map(splitSetting);

interface Location {
  gitDir: string;
  workTree: string;
}

async function realpathOr(p: string): Promise<string> {
  try {
    return await fs.realpath(p);
  } catch {
    return path.resolve(p);
  }
}

function inside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);
}

/**
 * Checks that the work tree's `.git` belongs to it: a linked worktree's git dir is
 * `<common>/worktrees/<name>` and its `gitdir` file points back at `<work tree>/.git`; any
 * other git dir outside `<work tree>/.git` must not be another checkout's `.git`.
 */
export async function checkGitDirBelongs(workTree: string, gitDir: string, commonDir: string): Promise<void> {
  const dotGit = path.join(workTree, '.git');
  const refuse = (why: string): UserInputError =>
    new UserInputError(`The work tree is not usable: ${why}.`, {
      hint: 'Use the worktree git_branch_create returned. If its .git was changed, remove the directory (git worktree prune) and create the branch\'s worktree again.',
      details: { work_tree: workTree, git_dir: gitDir },
    });
  if (gitDir !== commonDir) {
    if (path.dirname(gitDir) !== path.join(commonDir, 'worktrees')) throw refuse('its .git leads to a git directory that is not a worktree entry of its repository');
    const st = await fs.lstat(dotGit).catch(() => null);
    if (!st?.isFile()) throw refuse('a linked worktree\'s .git must be a file');
    const back = await fs.readFile(path.join(gitDir, 'gitdir'), 'utf8').catch(() => null);
    if (back === null) throw refuse('its worktree entry has no gitdir file');
    const backReal = await realpathOr(path.resolve(gitDir, back.trim()));
    if (backReal !== (await realpathOr(dotGit))) throw refuse('its .git leads to the worktree entry of another directory');
    return;
  }
  if (gitDir === dotGit) return;
  // A `.git` file or link to a git dir elsewhere (a separate git dir, a submodule's): never
  // to another checkout's own `.git`.
  if (path.basename(gitDir) === '.git' && path.dirname(gitDir) !== workTree) throw refuse("its .git leads to another checkout's git directory");
}

export class GitRunner {
  private location: Promise<Location | null> | null = null;

  constructor(
    readonly cwd: string,
    private readonly defaultTimeoutMs = 60_000,
  ) {}

  private baseEnv(location: Location | null, extra: Record<string, string> = {}, settings: ReadonlyArray<readonly [string, string]> = STATIC_SETTINGS): Record<string, string> {
    const pin: Record<string, string> = location ? { GIT_DIR: location.gitDir, GIT_WORK_TREE: location.workTree } : {};
    return gitEnvironment({ ...extra, ...pin, ...configEnvironment(settings) });
  }

  /**
   * Finds the repository once and checks its shape. Null outside a work tree (a bare
   * repository, inside `.git`, or no repository): those calls are not pinned.
   */
  private locate(): Promise<Location | null> {
    this.location ??= (async () => {
      let out: string;
      try {
        out = (await spawnGit(['rev-parse', '--path-format=absolute', '--git-dir', '--git-common-dir', '--show-toplevel'], { cwd: this.cwd, env: this.baseEnv(null), timeoutMs: this.defaultTimeoutMs })).stdout.toString('utf8');
      } catch {
        return null;
      }
      const lines = out.split('\n');
      if (lines.length !== 4 || lines[3] !== '' || lines.slice(0, 3).some((l) => !l)) {
        throw new UserInputError('The repository or work tree path holds a newline, which selfscope does not support.', { hint: 'Move the repository to a path without newlines.' });
      }
      const [gitDir, commonDir, workTree, cwd] = await Promise.all([realpathOr(lines[0]!), realpathOr(lines[1]!), realpathOr(lines[2]!), realpathOr(this.cwd)]);
      if (!inside(cwd, workTree)) {
        throw new UserInputError("git's work tree for this directory is elsewhere (core.worktree).", { hint: 'Remove core.worktree from the repository configuration.', details: { directory: this.cwd, work_tree: workTree } });
      }
      await checkGitDirBelongs(workTree, gitDir, commonDir);
      return { gitDir, workTree };
    })();
    return this.location;
  }

  /** Every key of the configuration `cwd` sees (files and includes) that names a program, neutralised. */
  private async programOverrides(cwd: string, env: Record<string, string>, options: GitRunOptions, overrides: Map<string, string>): Promise<void> {
    const { stdout } = await spawnGit(['config', '--includes', '--show-scope', '--name-only', '-z', '--list'], { cwd, env, timeoutMs: options.timeoutMs ?? this.defaultTimeoutMs, signal: options.signal });
    const parts = stdout.toString('utf8').split('\0');
    let hardened = false;
    for (let i = 0; i + 1 < parts.length; i += 2) {
      const scope = parts[i]!;
      const key = parts[i + 1]!;
      if (scope === 'command') {
        if (key.toLowerCase() === 'core.hookspath') hardened = true;
        continue;
      }
      const value = neutralValue(key);
      if (value !== null) overrides.set(key, value);
    }
    // git before 2.31 ignores GIT_CONFIG_COUNT: running it unhardened is not an option.
    if (!hardened) throw new ConfigurationError('This git does not apply settings from the environment (GIT_CONFIG_COUNT).', { hint: 'Install git 2.32 or newer.' });
  }

  /**
   * For commands that look into populated submodules whatever the configuration says
   * (`git add` runs `git status` in each, which reads the submodule's own config): the
   * program keys of each submodule's configuration too. The child inherits these settings.
   */
  private async submoduleOverrides(location: Location, options: GitRunOptions, overrides: Map<string, string>): Promise<void> {
    const { stdout } = await spawnGit(['ls-files', '-z', '--stage'], { cwd: location.workTree, env: this.baseEnv(location), timeoutMs: options.timeoutMs ?? this.defaultTimeoutMs, signal: options.signal });
    const populated: string[] = [];
    for (const entry of stdout.toString('utf8').split('\0')) {
      if (!entry.startsWith('160000 ')) continue;
      const dir = path.join(location.workTree, entry.slice(entry.indexOf('\t') + 1));
      if (!inside(dir, location.workTree) || dir === location.workTree) continue;
      if (await fs.lstat(path.join(dir, '.git')).then(() => true, () => false)) populated.push(dir);
    }
    if (populated.length > MAX_SUBMODULES) {
      throw new UserInputError(`The work tree has ${populated.length} populated submodules; selfscope checks the configuration of at most ${MAX_SUBMODULES}.`, { hint: 'Deinitialise the submodules the change does not need (git submodule deinit).' });
    }
    for (const dir of [...new Set(populated)]) await this.programOverrides(dir, gitEnvironment(configEnvironment(STATIC_SETTINGS)), options, overrides);
  }

  private async prepare(args: readonly string[], options: GitRunOptions): Promise<Record<string, string>> {
    const location = await this.locate();
    const found = new Map<string, string>();
    await this.programOverrides(this.cwd, this.baseEnv(location), options, found);
    if (location && SUBMODULE_SENSITIVE.has(args[0] ?? '')) await this.submoduleOverrides(location, options, found);
    const overrides = [...found];
    const settings = [...STATIC_SETTINGS, ...overrides, ...(options.config ?? []).map(splitSetting)];
    return this.baseEnv(location, options.env, settings);
  }

  /** Runs `git <args>` and returns stdout. User values in `args` must follow `--end-of-options` or `--`. */
  async run(args: readonly string[], options: GitRunOptions = {}): Promise<string> {
    return (await this.runBytes(args, options)).toString('utf8');
  }

  /** Runs `git <args>` and returns stdout as bytes (binary-safe), optionally feeding stdin. */
  async runBytes(args: readonly string[], options: GitBytesOptions = {}): Promise<Buffer> {
    const env = await this.prepare(args, options);
    const { stdout } = await spawnGit(args, { cwd: this.cwd, env, timeoutMs: options.timeoutMs ?? this.defaultTimeoutMs, input: options.input, maxBytes: options.maxBytes, signal: options.signal });
    return stdout;
  }
}

export interface IsolatedGitOptions {
  /** A git directory selfscope wrote itself (its own config); git runs with it as GIT_DIR and HOME. */
  gitDir: string;
  /** Settings for this one process only, e.g. an authorization header: environment, never argv or files. */
  secretConfig?: ReadonlyArray<readonly [string, string]>;
  /** Removed from any error message (a token and its encodings). */
  scrub?: readonly string[];
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Runs git in a git directory selfscope made, reading no configuration but that
 * directory's: no system or global file (`GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL=/dev/null`),
 * `HOME` pointing at the directory (no `~/.netrc`, no user files), and nothing of selfscope's
 * environment but the locale and `PATH`. For egress: the repository's own configuration
 * never reaches the process that holds the token.
 */
export async function runIsolatedGit(args: readonly string[], options: IsolatedGitOptions): Promise<{ stdout: string; stderr: string }> {
  const env: Record<string, string> = {};
  // selfscope's own CA locations (never the repository's) still apply to TLS.
  for (const key of ['PATH', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'SSL_CERT_FILE', 'SSL_CERT_DIR']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  Object.assign(env, {
    HOME: options.gitDir,
    GIT_DIR: options.gitDir,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_PAGER: 'cat',
    GIT_OPTIONAL_LOCKS: '0',
    ...configEnvironment(options.secretConfig ?? []),
  });
  const { stdout, stderr } = await spawnGit(args, { cwd: options.gitDir, env, timeoutMs: options.timeoutMs ?? 120_000, signal: options.signal, scrub: options.scrub, maxBytes: 16 * 1024 * 1024 });
  return { stdout: stdout.toString('utf8'), stderr };
}
