import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigurationError } from '../errors.js';

/**
 * The bubblewrap sandbox every typecheck and test run executes in. The code a check runs
 * was written by the agent, and selfscope's private state (record key, signed records,
 * approvals) must stay out of its reach. Inside: the whole file system read-only, the
 * worktree read-write, a fresh /tmp and HOME, selfscope's state and private directories,
 * the user's real HOME and /run replaced by empty directories, no capabilities, its own PID
 * namespace (when the run ends or is killed, every process it started dies with it) and,
 * unless `checks.network` is set, a network namespace with loopback only.
 */

export type SandboxMode = 'bwrap' | 'off';
/** What a run actually had: `unavailable` means bwrap was asked for but could not start. */
export type SandboxState = 'bwrap' | 'off' | 'unavailable';

/** HOME and TMPDIR inside the sandbox: on the sandbox's own tmpfs, gone when it ends. */
export const SANDBOX_HOME = '/tmp/home';
export const SANDBOX_TMPDIR = '/tmp';

export interface SandboxLayout {
  /** Bound read-write at its own path; the check starts there. */
  worktree: string;
  /** Each replaced by an empty tmpfs (the worktree and `writable` are bound back on top). */
  hidden: readonly string[];
  /** Extra read-write binds, e.g. where the runner writes its report. */
  writable: readonly string[];
  /** Read-only binds (directories or files) back on top of a hidden directory: toolchains under the real HOME. */
  readOnly: readonly string[];
  /** Each replaced by an empty, writable, throwaway tmpfs: caches tools insist on writing in a read-only place. */
  scratch: readonly string[];
  /** Share the host's network namespace; otherwise only a private loopback exists. */
  network: boolean;
}

export interface SandboxSpec extends SandboxLayout {
  /** Absolute path of the bwrap executable. */
  bwrap: string;
}

// Namespaces, session and capabilities. As root, bwrap would otherwise leave the sandboxed
// process every capability in its user namespace: enough to unmount the tmpfs that hides
// the private directory.
function namespaceFlags(network: boolean): string[] {
  return ['--die-with-parent', '--new-session', '--unshare-all', ...(network ? ['--share-net'] : []), '--cap-drop', 'ALL'];
}

const BASE_MOUNTS = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp'];

type MountKind = 'tmpfs' | 'bind' | 'ro-bind';
// At one path, the later kind wins: a directory both re-exposed and hidden stays hidden.
const KIND_ORDER: Record<MountKind, number> = { 'ro-bind': 0, bind: 1, tmpfs: 2 };

function checkedPath(p: string, what: string): string {
  if (p.includes('\0') || !path.isAbsolute(p)) {
    throw new ConfigurationError(`The sandbox ${what} path must be absolute and without NUL characters.`, {
      hint: 'Give absolute paths (the worktree, the state and private directories, HOME).',
    });
  }
  return path.resolve(p);
}

function depth(p: string): number {
  return p === '/' ? 0 : p.split('/').length - 1;
}

/**
 * The bwrap arguments for a run, up to and including the `--` that precedes the command.
 * Pure: no file system access; the caller passes paths that exist (see `sandboxLayout`).
 * Mounts are applied shallowest first, so a deeper path always lands on top of its
 * parent: a worktree under the hidden state directory is bound back over the tmpfs,
 * and the state directory inside a worktree that is the repository root is hidden over
 * the read-write bind.
 */
export function bwrapArguments(layout: SandboxLayout): string[] {
  const worktree = checkedPath(layout.worktree, 'worktree');
  const ops = new Map<string, MountKind>();
  const add = (p: string, kind: MountKind, what: string) => {
    const at = checkedPath(p, what);
    if (at === '/') throw new ConfigurationError(`The sandbox cannot ${kind === 'tmpfs' ? 'hide' : 'bind'} the root directory.`, { hint: 'Check HOME, stateDir and privateDir.' });
    const before = ops.get(at);
    if (before === undefined || KIND_ORDER[kind] > KIND_ORDER[before]) ops.set(at, kind);
  };
  for (const p of layout.readOnly) add(p, 'ro-bind', 'read-only');
  add(worktree, 'bind', 'worktree');
  for (const p of layout.writable) add(p, 'bind', 'writable');
  for (const p of layout.hidden) add(p, 'tmpfs', 'hidden');
  for (const p of layout.scratch) add(p, 'tmpfs', 'scratch');
  if (ops.get(worktree) !== 'bind') {
    throw new ConfigurationError('The worktree is one of the directories the sandbox hides.', { hint: 'Run checks in the repository or one of its worktrees.' });
  }
  const sorted = [...ops].sort(([a], [b]) => depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0));
  const mounts = sorted.flatMap(([p, kind]) => (kind === 'tmpfs' ? ['--tmpfs', p] : [`--${kind}`, p, p]));
  return [
    ...namespaceFlags(layout.network),
    ...BASE_MOUNTS,
    ...mounts,
    // After every mount: a tmpfs or bind at /tmp/... must not cover the new HOME.
    '--dir',
    SANDBOX_HOME,
    '--setenv',
    'HOME',
    SANDBOX_HOME,
    '--setenv',
    'TMPDIR',
    SANDBOX_TMPDIR,
    '--chdir',
    worktree,
    '--',
  ];
}

/** The full argv that runs `argv` in the sandbox. */
export function sandboxedArgv(spec: SandboxSpec, argv: readonly string[]): string[] {
  return [checkedPath(spec.bwrap, 'bwrap'), ...bwrapArguments(spec), ...argv];
}

/**
 * What bwrap prints, and nothing else, when the command it should run does not exist
 * (it then exits with 1): the caller reports it as a missing command.
 */
export function isBwrapCommandNotFound(output: string, exitCode: number | null, command: string): boolean {
  return exitCode === 1 && output.trim() === `bwrap: execvp ${command}: No such file or directory`;
}

async function realOrNull(p: string): Promise<string | null> {
  try {
    return await fs.realpath(p);
  } catch {
    return null;
  }
}

/**
 * Where the package links of a real node_modules directory lead outside `dir` (a worktree's
 * per-package links into the main checkout, and on into a store or another checkout): the
 * node_modules directories that hold the targets, each named once.
 */
async function linkedPackages(nodeModules: string, dir: string): Promise<string[]> {
  const out = new Set<string>();
  const add = async (link: string) => {
    const target = await realOrNull(link);
    if (!target || isWithin(target, dir)) return;
    const parent = path.dirname(target);
    const holder = path.basename(parent).startsWith('@') ? path.dirname(parent) : parent;
    out.add(path.basename(holder) === 'node_modules' ? holder : target);
  };
  const entries = await fs.readdir(nodeModules, { withFileTypes: true }).catch(() => []);
  for (const entry of entries.slice(0, 5000)) {
    if (entry.isSymbolicLink()) await add(path.join(nodeModules, entry.name));
    else if (entry.isDirectory() && entry.name.startsWith('@')) {
      for (const scoped of (await fs.readdir(path.join(nodeModules, entry.name), { withFileTypes: true }).catch(() => [])).slice(0, 1000)) {
        if (scoped.isSymbolicLink()) await add(path.join(nodeModules, entry.name, scoped.name));
      }
    }
  }
  return [...out];
}

function isWithin(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Of real paths a run needs, those a hidden directory covers, to bind back read-only; never
 * one inside or containing a protected directory (selfscope's own), nor one containing a
 * hidden directory (HOME itself on PATH stays hidden). A path inside another one kept adds
 * nothing.
 */
export function reexposed(candidates: Iterable<string>, hidden: readonly string[], protectedDirs: readonly string[]): string[] {
  const keep = new Set<string>();
  for (const p of candidates) {
    if (!hidden.some((h) => isWithin(p, h))) continue;
    if (hidden.some((h) => isWithin(h, p)) || protectedDirs.some((q) => isWithin(p, q))) continue;
    keep.add(p);
  }
  const dirs = [...keep].sort();
  return dirs.filter((d) => !dirs.some((other) => other !== d && isWithin(d, other)));
}

/**
 * The toolchain on PATH, where a hidden directory covers it: each such PATH entry (bun in
 * ~/.bun/bin, nvm's node), and for every symlink in one that points elsewhere under a hidden
 * directory, the package its target belongs to (nvm's `npm` links into lib/node_modules/npm).
 */
export async function toolchainDirs(pathValue: string | undefined, hidden: readonly string[], protectedDirs: readonly string[] = []): Promise<string[]> {
  const out: string[] = [];
  const underHidden = (p: string) => hidden.some((h) => isWithin(p, h));
  for (const entry of (pathValue ?? '').split(':')) {
    if (!entry || !path.isAbsolute(entry) || entry.includes('\0')) continue;
    const real = await realOrNull(entry);
    if (!real || !underHidden(real)) continue;
    out.push(real);
    let names: string[] = [];
    try {
      names = (await fs.readdir(real)).slice(0, 500);
    } catch {
      continue;
    }
    for (const name of names) {
      const target = await realOrNull(path.join(real, name));
      if (!target || isWithin(target, real) || !underHidden(target)) continue;
      out.push((await packageRoot(target, hidden)) ?? target);
    }
  }
  return reexposed(out, hidden, protectedDirs);
}

/** The nearest directory above `file` with a package.json, not leaving the hidden directory. */
async function packageRoot(file: string, hidden: readonly string[]): Promise<string | null> {
  const top = hidden.filter((h) => isWithin(file, h)).sort((a, b) => b.length - a.length)[0];
  if (!top) return null;
  for (let dir = path.dirname(file); isWithin(dir, top) && dir !== top; dir = path.dirname(dir)) {
    if (await fs.stat(path.join(dir, 'package.json')).then(() => true, () => false)) return dir;
  }
  return null;
}

// Vite bundles a vitest.config.ts into node_modules/.vite-temp before loading it, and fails
// on a read-only file system; vitest keeps its results cache in node_modules/.vite.
const NODE_MODULES_SCRATCH = ['.vite', '.vite-temp'];

/**
 * Scratch directories in the repository's node_modules when the worktree is not the
 * repository (selfscope's worktrees link the main checkout's node_modules, read-only in the
 * sandbox). Created on the host when missing: a mount point cannot be made in a read-only
 * view. Only the repository's own node_modules, never where a link in the worktree points.
 */
export async function nodeModulesScratch(worktree: string, repo: string | null): Promise<string[]> {
  const nodeModules = repo ? await realOrNull(path.join(repo, 'node_modules')) : null;
  if (!nodeModules || isWithin(nodeModules, worktree)) return [];
  const out: string[] = [];
  for (const name of NODE_MODULES_SCRATCH) {
    const dir = path.join(nodeModules, name);
    try {
      await fs.mkdir(dir, { recursive: true });
      if ((await fs.lstat(dir)).isDirectory()) out.push(dir);
    } catch {
      // Cannot create it: the tool then fails or copes, as it would without the sandbox.
    }
  }
  return out;
}

export interface SandboxLayoutInput {
  worktree: string;
  /**
   * The repository root, when known: shown read-only even inside a hidden HOME (its
   * node_modules and git directory serve selfscope's worktrees), with scratch caches.
   */
  repo?: string | null;
  /** selfscope's state and private directories: created if missing, then hidden. */
  ownDirs: readonly string[];
  /** The user's real HOME (hidden when it exists). */
  home: string;
  writable: readonly string[];
  network: boolean;
  /** PATH inside the sandbox, for re-exposing toolchains under HOME. */
  pathValue: string | undefined;
}

/**
 * Resolves the real paths of everything the sandbox binds or hides. A missing state or
 * private directory is created first (mode 0700): were it created during the run, the
 * read-only view of / would show it.
 */
export async function sandboxLayout(input: SandboxLayoutInput): Promise<SandboxLayout> {
  const worktree = await fs.realpath(checkedPath(input.worktree, 'worktree'));
  const hidden: string[] = [];
  for (const dir of input.ownDirs) {
    await fs.mkdir(checkedPath(dir, 'hidden'), { recursive: true, mode: 0o700 });
    hidden.push(await fs.realpath(dir));
  }
  const home = await realOrNull(checkedPath(input.home, 'HOME'));
  if (home && home !== '/') hidden.push(home);
  // Sockets of the host's daemons (container runtimes, D-Bus, agents) live there.
  const run = await realOrNull('/run');
  if (run && run !== '/') hidden.push(run);
  const writable: string[] = [];
  for (const dir of input.writable) writable.push(await fs.realpath(checkedPath(dir, 'writable')));
  const own = hidden.slice(0, input.ownDirs.length);
  const repo = input.repo ? await realOrNull(checkedPath(input.repo, 'repository')) : null;
  // The fresh /tmp hides the host's too: a repository there is shown like one in HOME.
  const covering = [...hidden.slice(own.length), '/tmp'];
  // Dependencies linked in from elsewhere (a worktree's node_modules pointing at the main
  // checkout's, or at a toolchain checkout under /tmp or HOME) are shown read-only too.
  const linkedDeps: string[] = [];
  for (const dir of new Set([worktree, ...(repo ? [repo] : [])])) {
    const target = await realOrNull(path.join(dir, 'node_modules'));
    if (target && !isWithin(target, dir)) linkedDeps.push(target);
    else if (target) linkedDeps.push(...(await linkedPackages(target, dir)));
  }
  const readOnly = [...(await toolchainDirs(input.pathValue, hidden, own)), ...reexposed([...(repo && repo !== worktree ? [repo] : []), ...linkedDeps], covering, own)];
  // A main checkout's git directory stays read-only: test code must not plant hooks or config there.
  const gitDir = path.join(worktree, '.git');
  if ((await fs.lstat(gitDir).catch(() => null))?.isDirectory()) readOnly.push(gitDir);
  const scratch = await nodeModulesScratch(worktree, repo);
  // With the network shared, name resolution may need resolv.conf's target under /run.
  const resolv = input.network && run ? await realOrNull('/etc/resolv.conf') : null;
  if (resolv && isWithin(resolv, run!) && resolv !== run) readOnly.push(resolv);
  return { worktree, hidden, writable, readOnly, scratch, network: input.network };
}

export interface SandboxAvailability {
  available: boolean;
  /** The bwrap executable found, when available. */
  bwrap: string | null;
  /** Why not, when unavailable. */
  reason: string | null;
}

export type SandboxProbe = () => Promise<SandboxAvailability>;

/** What running checks without the sandbox gives up, said wherever that is the case. */
export const UNSANDBOXED_RISKS =
  "test code runs as selfscope's own user: it can read selfscope's private state and record key (and so forge records), reach the network, and leave processes running after the check";

async function findExecutable(name: string, pathValue: string | undefined): Promise<string | null> {
  for (const dir of (pathValue ?? '').split(':')) {
    if (!dir || !path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, name);
    try {
      await fs.access(candidate, constants.X_OK);
      if ((await fs.stat(candidate)).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

const PROBE_TIMEOUT_MS = 30_000;

/**
 * Whether a sandbox can start here: finds bwrap on PATH and starts it once with the same
 * namespace flags a run uses. The answer is kept by the returned function (one probe per
 * check runner, which the server creates once).
 */
export function createSandboxProbe(options: { network: boolean; pathValue?: string | undefined }): SandboxProbe {
  let answer: Promise<SandboxAvailability> | null = null;
  const pathValue = 'pathValue' in options ? options.pathValue : process.env['PATH'];
  return () => (answer ??= probe(options.network, pathValue));
}

async function probe(network: boolean, pathValue: string | undefined): Promise<SandboxAvailability> {
  const bwrap = await findExecutable('bwrap', pathValue);
  if (!bwrap) return { available: false, bwrap: null, reason: 'bwrap (bubblewrap) is not installed or not on PATH' };
  const { execa } = await import('execa');
  const result = await execa(bwrap, [...namespaceFlags(network), ...BASE_MOUNTS, '--', 'true'], {
    env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
    all: true,
    timeout: PROBE_TIMEOUT_MS,
  });
  if (result.exitCode === 0) return { available: true, bwrap, reason: null };
  const said = String(result.all ?? '').replace(/[^\x20-\x7e\n]/g, '?').trim().split('\n')[0]?.slice(0, 300) ?? '';
  const how = result.timedOut
    ? 'timed out'
    : result.exitCode !== undefined
      ? `exit ${result.exitCode}`
      : result.signal
        ? `signal ${result.signal}`
        : ((result as { code?: string }).code ?? 'did not start');
  return { available: false, bwrap, reason: `bwrap could not start a sandbox (${how})${said ? `: ${said}` : ''}` };
}
