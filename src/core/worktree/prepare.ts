import fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigurationError } from '../errors.js';
import { GitRunner } from '../git/runner.js';

/**
 * Makes a new worktree work like the main checkout, without the network and without
 * running any of the repository's code (that happens only in setup steps, sandboxed):
 * dependencies linked, ignored build outputs copied, submodules checked out from the main
 * checkout's own submodule repositories, and TypeScript build info carried over.
 */

export interface PreparationReport {
  /** node_modules directories made available, relative to the worktree ('node_modules', 'packages/a/node_modules'). */
  dependencies: string[];
  /** Paths copied from the main checkout (worktree.copy). */
  copied: string[];
  /** Submodules checked out from the main checkout's submodule repositories. */
  submodules: string[];
  /** *.tsbuildinfo files carried over, and whether they were marked up to date. */
  build_info: { files: string[]; fresh: boolean };
  /** What was left out, and why (one line each). */
  skipped: string[];
}

export function emptyReport(): PreparationReport {
  return { dependencies: [], copied: [], submodules: [], build_info: { files: [], fresh: false }, skipped: [] };
}

const MAX_PACKAGES = 200;
const MAX_ENTRIES = 20_000;
// Caches tools write into node_modules: each worktree gets its own (a link would write into the live checkout).
const OWN_CACHES = new Set(['.vite', '.vite-temp', '.cache']);

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

async function realOrNull(p: string): Promise<string | null> {
  return fs.realpath(p).catch(() => null);
}

function inside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function hasSegment(rel: string, name: string): boolean {
  return rel.split('/').includes(name);
}

async function ignored(git: GitRunner, rel: string): Promise<boolean> {
  return git.run(['check-ignore', '-q', '--no-index', '--', rel]).then(
    () => true,
    () => false,
  );
}

/**
 * The main checkout's node_modules at the root and in every package of the tree (each
 * directory with a tracked package.json, and each submodule), made available in the
 * worktree. Not one link per node_modules: a link is not a directory to git, so a
 * `node_modules/` pattern would not ignore it and it would land in the next commit. Instead
 * a real directory holding one link per entry, which every ignore pattern for node_modules
 * covers; Node, Bun and TypeScript follow the links to the real packages, whose own
 * dependencies then resolve from the main checkout.
 */
export async function linkDependencies(repo: string, worktree: string, report: PreparationReport): Promise<void> {
  const git = new GitRunner(worktree);
  const manifests = (await git.run(['ls-files', '-z', '--', 'package.json', '*/package.json'])).split('\0').filter(Boolean);
  const gitlinks = (await git.run(['ls-files', '-z', '--stage']))
    .split('\0')
    .filter((e) => e.startsWith('160000 '))
    .map((e) => e.slice(e.indexOf('\t') + 1));
  const dirs = [...new Set([...manifests.map((m) => path.posix.dirname(m)), ...gitlinks])].filter((d) => !hasSegment(d, 'node_modules')).sort();
  if (dirs.length > MAX_PACKAGES) report.skipped.push(`dependencies: only the first ${MAX_PACKAGES} of ${dirs.length} packages are linked`);
  for (const dir of dirs.slice(0, MAX_PACKAGES)) {
    const rel = dir === '.' ? 'node_modules' : `${dir}/node_modules`;
    const source = await realOrNull(path.join(repo, rel));
    if (!source || !(await fs.stat(source)).isDirectory()) {
      const install = await installCommand(path.join(worktree, dir));
      if (install) report.skipped.push(`${rel}: the main checkout has none to link; install there, or add a setup step: ${JSON.stringify(install)}`);
      continue;
    }
    const target = path.join(worktree, rel);
    if (!inside(target, worktree) || (await exists(target))) continue;
    if (!(await exists(path.dirname(target)))) continue;
    if (!(await ignored(git, `${rel}/`))) {
      report.skipped.push(`${rel}: not linked, git does not ignore it here (it would show up as a change)`);
      continue;
    }
    const entries = (await fs.readdir(source)).filter((e) => !OWN_CACHES.has(e));
    if (entries.length > MAX_ENTRIES) {
      report.skipped.push(`${rel}: not linked, it has ${entries.length} entries (more than ${MAX_ENTRIES})`);
      continue;
    }
    await fs.mkdir(target);
    for (const entry of entries) await fs.symlink(path.join(source, entry), path.join(target, entry));
    report.dependencies.push(rel);
  }
}

// Offline, from the lockfile only: the sandbox has no network unless checks.network.
const INSTALLS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['bun.lock', ['bun', 'install', '--frozen-lockfile']],
  ['bun.lockb', ['bun', 'install', '--frozen-lockfile']],
  ['pnpm-lock.yaml', ['pnpm', 'install', '--offline', '--frozen-lockfile']],
  ['yarn.lock', ['yarn', 'install', '--offline', '--frozen-lockfile']],
  ['package-lock.json', ['npm', 'ci', '--offline']],
];

/** The package manager's offline install for a package that declares dependencies, by its lockfile; null when it declares none. */
export async function installCommand(dir: string): Promise<readonly string[] | null> {
  let manifest: { dependencies?: object; devDependencies?: object };
  try {
    manifest = JSON.parse(await fs.readFile(path.join(dir, 'package.json'), 'utf8')) as typeof manifest;
  } catch {
    return null;
  }
  if (Object.keys(manifest?.dependencies ?? {}).length + Object.keys(manifest?.devDependencies ?? {}).length === 0) return null;
  for (const [lockfile, argv] of INSTALLS) if (await exists(path.join(dir, lockfile))) return argv;
  return ['npm', 'install', '--offline'];
}

/**
 * Ignored paths of the main checkout (worktree.copy) copied into the worktree. Only what git
 * ignores (a tracked path is the branch's own), only inside the repository, never its git
 * directory; symlinks are copied as links.
 */
export async function copyIgnored(repo: string, worktree: string, paths: readonly string[], report: PreparationReport): Promise<void> {
  if (paths.length === 0) return;
  const git = new GitRunner(repo);
  const realRepo = (await realOrNull(repo)) ?? repo;
  for (const raw of paths) {
    const rel = path.posix.normalize(raw.replace(/\\/g, '/')).replace(/\/+$/, '');
    const bad = (why: string) => new ConfigurationError(`worktree.copy "${raw.slice(0, 200)}" cannot be copied: ${why}.`, { hint: 'List paths relative to the repository root that git ignores, e.g. "dashboard/dist".' });
    if (raw.includes('\0') || path.posix.isAbsolute(rel) || rel === '.' || rel.startsWith('../') || rel === '..') throw bad('it must be a path inside the repository');
    if (rel.split('/').includes('.git')) throw bad('it is inside a git directory');
    const source = path.join(realRepo, rel);
    const real = await realOrNull(source);
    if (!real) {
      report.skipped.push(`${rel}: not copied, the main checkout does not have it (build it there, or add a setup step)`);
      continue;
    }
    if (!inside(real, realRepo) || real === realRepo) throw bad('it leads outside the repository');
    const isDir = (await fs.stat(real)).isDirectory();
    if (!(await ignored(git, isDir ? `${rel}/` : rel))) throw bad('git does not ignore it, so the branch has its own');
    const target = path.join(worktree, rel);
    if (await exists(target)) {
      report.skipped.push(`${rel}: not copied, the worktree has it already`);
      continue;
    }
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.cp(real, target, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true, errorOnExist: true, force: false });
    report.copied.push(rel);
  }
}

/**
 * Submodules checked out in the worktree at the commit the branch records, each as a linked
 * worktree of the main checkout's own submodule repository: no clone, no network, the
 * objects shared. A submodule the main checkout has not initialised stays empty, as there.
 */
export async function initSubmodules(repo: string, worktree: string, report: PreparationReport): Promise<void> {
  const git = new GitRunner(worktree);
  const entries = (await git.run(['ls-files', '-z', '--stage']))
    .split('\0')
    .filter((e) => e.startsWith('160000 '))
    .map((e) => ({ commit: e.split(' ')[1]!, rel: e.slice(e.indexOf('\t') + 1) }));
  for (const { commit, rel } of entries.slice(0, 50)) {
    const mainSub = path.join(repo, rel);
    const target = path.join(worktree, rel);
    if (!inside(target, worktree) || target === worktree) continue;
    if (!(await exists(path.join(mainSub, '.git')))) {
      report.skipped.push(`${rel}: submodule not initialised in the main checkout, left empty`);
      continue;
    }
    const sub = new GitRunner(mainSub);
    const has = await sub.run(['cat-file', '-e', '--end-of-options', `${commit}^{commit}`]).then(
      () => true,
      () => false,
    );
    if (!has) {
      report.skipped.push(`${rel}: submodule commit ${commit.slice(0, 10)} is not in the main checkout's submodule repository (fetch it there), left empty`);
      continue;
    }
    if ((await fs.readdir(target).catch(() => [])).length > 0) continue;
    await sub.run(['worktree', 'add', '--detach', '--end-of-options', target, commit]);
    report.submodules.push(rel);
  }
}

/** Prunes the worktree entries a removed worktree left in the main checkout's submodule repositories. */
export async function pruneSubmoduleWorktrees(repo: string, submodules: readonly string[]): Promise<void> {
  for (const rel of submodules) await new GitRunner(path.join(repo, rel)).run(['worktree', 'prune']).catch(() => {});
}

/**
 * The main checkout's TypeScript build info (ignored `*.tsbuildinfo` outside node_modules),
 * so `tsc -b` in the worktree starts from what the main checkout already checked. `tsc -b`
 * skips a project whose build info is newer than its inputs: a copy is marked newer only
 * when that claim holds in the worktree too — the main checkout is clean, on the very tree
 * the worktree starts from, and its build info was newer than every tracked file there.
 * Otherwise the copy keeps its old time: `tsc -b` then checks again, reusing incremental
 * state where the project has it, and never skips a check the worktree needs.
 */
export async function carryBuildInfo(repo: string, worktree: string, report: PreparationReport, exclude: readonly string[] = []): Promise<void> {
  const git = new GitRunner(repo);
  const files = (await git.run(['ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--', '*.tsbuildinfo']))
    .split('\0')
    // Never another worktree's (they may live in the state directory inside the repository).
    .filter((f) => f && !hasSegment(f, 'node_modules') && !exclude.some((d) => inside(path.join(repo, f), d)))
    .slice(0, 100);
  if (files.length === 0) return;
  const wtGit = new GitRunner(worktree);
  const copied: Array<{ target: string; mtimeMs: number }> = [];
  for (const rel of files) {
    const source = path.join(repo, rel);
    const target = path.join(worktree, rel);
    const st = await fs.lstat(source).catch(() => null);
    if (!st?.isFile() || (await exists(target)) || !(await ignored(wtGit, rel))) continue;
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, rebaseBuildInfo(await fs.readFile(source, 'utf8'), path.dirname(source), path.dirname(target), repo));
    await fs.utimes(target, st.atime, st.mtime);
    copied.push({ target, mtimeMs: st.mtimeMs });
    report.build_info.files.push(rel);
  }
  if (copied.length === 0) return;
  const [mainTree, worktreeTree, dirty] = await Promise.all([
    git.run(['rev-parse', 'HEAD^{tree}']).then((t) => t.trim(), () => null),
    wtGit.run(['rev-parse', 'HEAD^{tree}']).then((t) => t.trim(), () => null),
    git.run(['status', '--porcelain', '--untracked-files=normal', '--ignore-submodules=all']).then((s) => s.trim() !== '', () => true),
  ]);
  if (!mainTree || mainTree !== worktreeTree || dirty) return;
  // Copied build outputs can be inputs too (generated sources): they count like tracked files.
  const newest = Math.max((await newestTrackedMtime(git, repo)) ?? Infinity, ...(await Promise.all(report.copied.map((rel) => newestMtimeUnder(path.join(repo, rel))))));
  if (!Number.isFinite(newest) || copied.some((c) => c.mtimeMs < newest)) return;
  const now = new Date();
  for (const c of copied) await fs.utimes(c.target, now, now);
  report.build_info.fresh = true;
}

/**
 * An incremental build info names its files relative to itself. The repository's own files
 * sit at the same place in the worktree; everything else (node_modules, reached in the
 * worktree through links that TypeScript resolves to the main checkout's real files, and
 * TypeScript's own lib files) is renamed to where the worktree's program will find it, so
 * an incremental check there reuses what the main checkout checked instead of starting over.
 */
export function rebaseBuildInfo(text: string, fromDir: string, toDir: string, repo: string): string {
  let info: { fileNames?: unknown };
  try {
    info = JSON.parse(text) as { fileNames?: unknown };
  } catch {
    return text;
  }
  if (!info || !Array.isArray(info.fileNames) || !info.fileNames.every((f) => typeof f === 'string')) return text;
  info.fileNames = (info.fileNames as string[]).map((f) => {
    const abs = path.resolve(fromDir, f);
    const own = inside(abs, repo) && !hasSegment(path.relative(repo, abs).split(path.sep).join('/'), 'node_modules');
    if (own) return f;
    const rel = path.relative(toDir, abs).split(path.sep).join('/');
    return rel.startsWith('.') ? rel : `./${rel}`;
  });
  return JSON.stringify(info);
}

async function newestMtimeUnder(top: string, budget = { entries: 20_000 }): Promise<number> {
  const st = await fs.lstat(top).catch(() => null);
  if (!st) return 0;
  let newest = st.mtimeMs;
  if (!st.isDirectory()) return newest;
  for (const name of await fs.readdir(top).catch(() => [] as string[])) {
    // Past the budget, claim "newer than anything": the copy is then simply not marked up to date.
    if (--budget.entries < 0) return Infinity;
    newest = Math.max(newest, await newestMtimeUnder(path.join(top, name), budget));
  }
  return newest;
}

async function newestTrackedMtime(git: GitRunner, repo: string): Promise<number | null> {
  const tracked = (await git.run(['ls-files', '-z'])).split('\0').filter(Boolean);
  let newest = 0;
  for (let i = 0; i < tracked.length; i += 64) {
    const stats = await Promise.all(tracked.slice(i, i + 64).map((f) => fs.lstat(path.join(repo, f)).catch(() => null)));
    for (const st of stats) if (st && st.mtimeMs > newest) newest = st.mtimeMs;
  }
  return tracked.length ? newest : null;
}
