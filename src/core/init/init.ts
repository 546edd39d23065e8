import fs from 'node:fs/promises';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { CONFIG_FILE_NAME } from '../../config/load.js';
import { DEFAULT_SENSITIVE_PATHS } from '../../config/schema.js';
import { GitRunner } from '../git/runner.js';
import { parseGitHubRemote } from '../github/remote.js';
import { sensitivePaths } from '../policy/policy.js';
import { ensureStateDir } from '../state/state-dir.js';
import { fitToolTimeout, measuredCheckTimes } from '../checks/check-times.js';
import { recordedRedBase } from '../checks/gate.js';

/**
 * `selfscope init`: detects how a bot repository logs, builds and is hosted, then writes
 * selfscope's configuration, the Claude Code MCP configuration and the git exclude of the
 * state directory. Idempotent: a second run changes nothing; an existing different file is
 * left alone unless `force` is set; every change is shown as a diff, the same in a dry run
 * as in a real one; and it says which of its files to commit.
 */

/**
 * The `$schema` written into the configuration file (and shown in the README): where the
 * schema is when selfscope is installed in the repository. Relative, so the committed file
 * is the same on every machine; a path to this machine's copy would not be.
 */
export const SCHEMA_REF = './node_modules/selfscope/schema/selfscope.config.schema.json';

/** Codex gives a server 10 s to start by default; a cold start on a busy machine can take more. */
export const CODEX_STARTUP_TIMEOUT_S = 30;

/** What ensureStateDir writes above the state directory's line in info/exclude. */
const EXCLUDE_COMMENT = '# selfscope state (index, records, tokens)';

export interface Detection {
  logs: string[];
  logsReason: string;
  packageManager: 'bun' | 'pnpm' | 'yarn' | 'npm' | null;
  scripts: { typecheck: string | null; test: string | null };
  github: { owner: string; repo: string; remote: string } | null;
}

export interface FileChange {
  file: string;
  action: 'create' | 'update' | 'unchanged' | 'skipped';
  reason?: string;
  diff: string;
}

/** Where a file init manages stands in git, for the advice on committing it. */
export type GitState = 'to create' | 'to update' | 'untracked' | 'modified' | 'ignored' | 'committed' | 'not in git';

export interface CommitAdvice {
  /** Files to commit, so every checkout and session shares them; `sensitive`: in git.sensitivePaths. */
  commit: Array<{ file: string; state: GitState; why: string; sensitive: boolean }>;
  /** What must never be committed. */
  never: Array<{ path: string; why: string }>;
  /** Stages the files still to commit; null when there are none. */
  gitAdd: string | null;
}

export interface InitResult {
  repo: string;
  detection: Detection;
  changes: FileChange[];
  codexBlock: string;
  /** Registers the same server with Claude Code's own CLI, instead of .mcp.json. */
  claudeMcpAdd: string;
  advice: CommitAdvice;
  /** Things a person should know that are not changes (e.g. the schema is not installed here). */
  notes: string[];
  /** The tool-call timeout printed for Codex (tool_timeout_sec) and Claude Code (MCP_TOOL_TIMEOUT, in ms). */
  toolTimeoutS: number;
}

export interface InitOptions {
  repo: string;
  stateDir: string;
  /** How an MCP client starts this selfscope: command + args. */
  server: { command: string; args: string[] };
  force?: boolean;
  dryRun?: boolean;
  /** `$schema` written into the configuration file, for editor completion (default SCHEMA_REF; null: none). */
  schemaRef?: string | null;
  /** The longest a check may run (checks.maxTimeoutS; default 1800). */
  checkMaxTimeoutS?: number;
  /** Codex's tool_timeout_sec; default: checkMaxTimeoutS and a minute for the rest of the call. */
  codexToolTimeoutS?: number;
  /** The private directory, named in the advice on what never to commit. */
  privateDir?: string;
  /** git.sensitivePaths, to say whether an agent can change a file it advises to commit (default: the default list). */
  sensitivePaths?: readonly string[];
  /** Extra Claude Code MCP configuration files to write or merge (besides <repo>/.mcp.json). */
  mcpConfigPaths?: string[];
  /** Skip <repo>/.mcp.json (only the given paths). */
  noProjectMcpJson?: boolean;
}

/** Parses `KEY=value` lines of a dotenv file (comments, `export`, quotes). */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(raw);
    if (!match) continue;
    let value = match[2]!;
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, '');
    out[match[1]!] = value;
  }
  return out;
}

async function readText(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    return null;
  }
}

async function exists(file: string): Promise<boolean> {
  return (await readText(file)) !== null || (await fs.stat(file).then(() => true, () => false));
}

export async function detect(repo: string): Promise<Detection> {
  const env = parseDotenv((await readText(path.join(repo, '.env'))) ?? '');
  const logPath = env['RUNTIME_STRUCTURED_LOGS_FILE_PATH'];
  let logs = ['data/logs/*.ndjson'];
  let logsReason = 'default (the bot writes data/logs/runtime-actions.ndjson)';
  if (logPath) {
    const abs = path.resolve(repo, logPath);
    const rel = path.relative(repo, abs);
    const dir = rel.startsWith('..') || path.isAbsolute(rel) ? path.dirname(abs) : path.dirname(rel);
    // The directory's *.ndjson covers rotated files and other shards beside the configured one.
    logs = [`${dir === '.' ? '' : `${dir.split(path.sep).join('/')}/`}*.ndjson`];
    logsReason = `from .env RUNTIME_STRUCTURED_LOGS_FILE_PATH=${logPath}`;
  }

  const lockfiles: Array<[string, Detection['packageManager']]> = [
    ['bun.lock', 'bun'],
    ['bun.lockb', 'bun'],
    ['pnpm-lock.yaml', 'pnpm'],
    ['yarn.lock', 'yarn'],
    ['package-lock.json', 'npm'],
  ];
  let packageManager: Detection['packageManager'] = null;
  for (const [file, manager] of lockfiles) {
    if (await exists(path.join(repo, file))) {
      packageManager = manager;
      break;
    }
  }
  let scripts: Detection['scripts'] = { typecheck: null, test: null };
  const pkgText = await readText(path.join(repo, 'package.json'));
  if (pkgText) {
    packageManager ??= 'npm';
    try {
      const pkg = JSON.parse(pkgText) as { scripts?: Record<string, string> };
      scripts = { typecheck: pkg.scripts?.['typecheck'] ?? null, test: pkg.scripts?.['test'] ?? null };
    } catch {
      // An unreadable package.json is reported by the checks when they run.
    }
  }

  let github: Detection['github'] = null;
  const git = new GitRunner(repo, 10_000);
  for (const remote of ['origin', 'upstream']) {
    try {
      const url = (await git.run(['remote', 'get-url', '--end-of-options', remote])).trim();
      const parsed = parseGitHubRemote(url);
      if (parsed) {
        github = { ...parsed, remote };
        break;
      }
    } catch {
      // No such remote.
    }
  }
  return { logs, logsReason, packageManager, scripts, github };
}

function diffOf(file: string, before: string | null, after: string): string {
  return createTwoFilesPatch(before === null ? '/dev/null' : `a/${file}`, `b/${file}`, before ?? '', after, undefined, undefined, { context: 3 });
}

async function writeAtomically(file: string, content: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, content);
  await fs.rename(tmp, file);
}

/** A path as init shows it: relative to the repository when inside it, else absolute. */
function shownPath(repo: string, abs: string): string {
  const rel = path.relative(repo, abs);
  return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel;
}

function isInside(repo: string, abs: string): boolean {
  const rel = path.relative(repo, abs);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

async function planFile(repo: string, file: string, next: (current: string | null) => { content: string; conflict: boolean; reason?: string }, options: InitOptions): Promise<FileChange> {
  const abs = path.resolve(repo, file);
  const current = await readText(abs);
  const shown = shownPath(repo, abs);
  const { content, conflict, reason } = next(current);
  if (current === content) return { file: shown, action: 'unchanged', diff: '' };
  const diff = diffOf(shown, current, content);
  if (conflict && !options.force) {
    return { file: shown, action: 'skipped', reason: `${reason ?? 'it exists and differs'}; run again with --force to overwrite`, diff };
  }
  if (!options.dryRun) await writeAtomically(abs, content);
  return { file: shown, action: current === null ? 'create' : 'update', diff };
}

/**
 * The state directory's line in the exclude file of the repository's git directory. In a
 * real run ensureStateDir writes it (and creates the directory) and the diff is read back;
 * in a dry run the same text is predicted, so the dry run shows exactly what a run changes.
 */
async function planExclude(repo: string, stateDir: string, dryRun: boolean): Promise<FileChange | null> {
  const stateDirPath = path.resolve(repo, stateDir);
  if (!isInside(repo, stateDirPath)) {
    if (!dryRun) await ensureStateDir(repo, stateDirPath);
    return null; // Outside the repository: nothing for git to exclude.
  }
  let commonDir: string;
  try {
    commonDir = (await new GitRunner(repo, 10_000).run(['rev-parse', '--path-format=absolute', '--git-common-dir'])).trim();
  } catch {
    if (!dryRun) await ensureStateDir(repo, stateDirPath);
    return null; // Not a git repository.
  }
  const excludeFile = path.join(commonDir, 'info', 'exclude');
  const shown = shownPath(repo, excludeFile);
  const line = `/${path.relative(repo, stateDirPath).split(path.sep).join('/')}/`;
  const before = await readText(excludeFile);
  if (!dryRun) await ensureStateDir(repo, stateDirPath);
  let after: string;
  if (dryRun) {
    const current = before ?? '';
    const present = current.split(/\r?\n/).includes(line);
    after = present ? current : `${current}${current === '' || current.endsWith('\n') ? '' : '\n'}${EXCLUDE_COMMENT}\n${line}\n`;
  } else {
    after = (await readText(excludeFile)) ?? '';
  }
  if (after === (before ?? '')) return { file: shown, action: 'unchanged', diff: '' };
  return { file: shown, action: before === null ? 'create' : 'update', reason: `excludes the state directory ${line}`, diff: diffOf(shown, before, after) };
}

async function gitState(repo: string, file: string): Promise<GitState> {
  try {
    const out = await new GitRunner(repo, 10_000).run(['status', '--porcelain=v1', '--ignored', '--untracked-files=all', '--', file]);
    const code = out.slice(0, 2);
    if (out === '') return 'committed';
    if (code === '??') return 'untracked';
    if (code === '!!') return 'ignored';
    return 'modified';
  } catch {
    return 'not in git';
  }
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

async function adviseCommits(repo: string, options: InitOptions, changes: FileChange[], mcpFiles: string[]): Promise<CommitAdvice> {
  const serverLine = [options.server.command, ...options.server.args].map(shellQuote).join(' ');
  // An absolute path is this machine's (even inside the repository, whose place differs between
  // machines): the same file elsewhere works only where selfscope is at that path too.
  const machinePath = [options.server.command, ...options.server.args].find((a) => path.isAbsolute(a)) ?? null;
  const commit: CommitAdvice['commit'] = [];
  const globs = options.sensitivePaths ?? DEFAULT_SENSITIVE_PATHS;
  const consider = async (file: string, why: string) => {
    const abs = path.resolve(repo, file);
    if (!isInside(repo, abs)) return;
    const rel = path.relative(repo, abs).split(path.sep).join('/');
    const change = changes.find((c) => c.file === shownPath(repo, abs));
    if (!change || change.action === 'skipped') return;
    let state: GitState;
    if (options.dryRun && change.action === 'create') state = 'to create';
    else if (options.dryRun && change.action === 'update') state = 'to update';
    else state = await gitState(repo, rel);
    // Committed, the file is what every session reads: say whether an agent could change it unseen.
    const sensitive = sensitivePaths([rel], globs).length > 0;
    const guard = sensitive
      ? "in git.sensitivePaths: an agent's commit that changes it needs a person's approval"
      : 'not in git.sensitivePaths: add it there, or an agent may change it in a commit of its own';
    commit.push({ file: shownPath(repo, abs), state, why: `${why}; ${guard}`, sensitive });
  };
  await consider(CONFIG_FILE_NAME, 'log globs, GitHub repository and $schema: nothing secret, nothing machine-specific');
  for (const file of mcpFiles) {
    await consider(
      file,
      machinePath
        ? `starts ${serverLine}, a path on this machine: commit it where every machine using this checkout has selfscope at ${machinePath} (the bot's server); elsewhere leave it out and register selfscope with \`claude mcp add\` on each machine`
        : `starts ${serverLine}`,
    );
  }
  const pending = commit.filter((c) => c.state !== 'committed' && c.state !== 'not in git' && c.state !== 'ignored');
  const never: CommitAdvice['never'] = [
    { path: `${options.stateDir.replace(/\/+$/, '')}/`, why: 'the state directory: log index, worktrees, run output, proposals, the HTTP token (selfscope adds it to .git/info/exclude)' },
    { path: '.env', why: "the bot's secrets; GITHUB_TOKEN and SELFSCOPE_TOKEN are read from the environment only, never from a file in the repository" },
    ...(options.privateDir ? [{ path: options.privateDir, why: 'the private directory: record key, signed records, approvals, audit log; it stays outside the repository' }] : []),
  ];
  return {
    commit,
    never,
    gitAdd: pending.length > 0 ? `git add ${pending.map((c) => shellQuote(c.file)).join(' ')} && git commit -m "Set up selfscope"` : null,
  };
}

export async function runInit(options: InitOptions): Promise<InitResult> {
  const repo = options.repo;
  const detection = await detect(repo);
  const schemaRef = options.schemaRef === undefined ? SCHEMA_REF : options.schemaRef;

  const desiredConfig: Record<string, unknown> = {
    ...(schemaRef ? { $schema: schemaRef } : {}),
    logs: detection.logs,
    ...(detection.github ? { github: { owner: detection.github.owner, repo: detection.github.repo } } : {}),
  };
  const changes: FileChange[] = [];
  changes.push(
    await planFile(repo, CONFIG_FILE_NAME, (current) => {
      if (current === null) return { content: `${JSON.stringify(desiredConfig, null, 2)}\n`, conflict: false };
      let existing: Record<string, unknown>;
      try {
        existing = JSON.parse(current) as Record<string, unknown>;
      } catch {
        return { content: `${JSON.stringify(desiredConfig, null, 2)}\n`, conflict: true, reason: `${CONFIG_FILE_NAME} is not valid JSON` };
      }
      // A person's values win; init only adds what is missing. --force puts the detected values back.
      const merged = options.force ? { ...existing, ...desiredConfig } : { ...desiredConfig, ...existing };
      return { content: `${JSON.stringify(merged, null, 2)}\n`, conflict: false };
    }, options),
  );

  const ours = { command: options.server.command, args: options.server.args };
  const mcpFiles = [...(options.noProjectMcpJson ? [] : ['.mcp.json']), ...(options.mcpConfigPaths ?? [])];
  for (const file of mcpFiles) {
    changes.push(
      await planFile(repo, file, (current) => {
        let existing: { mcpServers?: Record<string, unknown> } & Record<string, unknown> = {};
        if (current !== null) {
          try {
            existing = JSON.parse(current) as typeof existing;
          } catch {
            return { content: current, conflict: true, reason: `${file} is not valid JSON` };
          }
        }
        // Other servers are kept as they are; only the "selfscope" entry is ours.
        const servers = existing.mcpServers ?? {};
        const content = `${JSON.stringify({ ...existing, mcpServers: { ...servers, selfscope: ours } }, null, 2)}\n`;
        const conflict = 'selfscope' in servers && JSON.stringify(servers['selfscope']) !== JSON.stringify(ours);
        return { content, conflict, ...(conflict ? { reason: 'it already has a different "selfscope" server' } : {}) };
      }, options),
    );
  }

  const exclude = await planExclude(repo, options.stateDir, options.dryRun === true);
  if (exclude) changes.push(exclude);

  const notes: string[] = [];
  if (schemaRef && !schemaRef.includes('://') && !(await exists(path.resolve(repo, schemaRef)))) {
    notes.push(`"$schema" points at ${schemaRef}, which is there once selfscope is installed in this repository (npm i -D /path/to/selfscope-<version>.tgz); until then editors have no completion for the file, and nothing else depends on it.`);
  }

  // init does not run the suite (minutes, unasked): it proposes the gate a recorded red run of
  // the default branch calls for, else says how to choose.
  const red = detection.scripts.test !== null && options.privateDir ? await recordedRedBase(repo, options.privateDir, { remote: 'origin' }) : null;
  if (detection.scripts.test !== null && !/"gate"\s*:/.test((await readText(path.join(repo, CONFIG_FILE_NAME))) ?? '')) {
    notes.push(red ? `Proposed: "checks": { "gate": "no_new_failures" } in ${CONFIG_FILE_NAME}. The default branch's last recorded full run (${red.base.branch} at ${red.base.commit.slice(0, 12)}, ${red.run}) has ${red.failed} of ${red.total} tests failing, so with checks.gate "strict" no fix could be committed. With "no_new_failures", git_commit needs typecheck passed and no test failing that passed on the base; pre-existing and flaky failures are listed, not blocking.`
      :       `The commit gate is checks.gate "strict": git_commit needs every test to pass on the committed tree. If the default branch's own suite already fails on this machine (tests that need the network, depend on timing, or load native modules), no fix could ever be committed: run the suite once on the default branch (\`${detection.packageManager ?? 'npm'} run test\`, or run_tests on an unchanged worktree), and if it is red set "checks": { "gate": "no_new_failures" } in ${CONFIG_FILE_NAME}. git_commit then needs typecheck passed and no test failing that passed on the base; pre-existing and flaky failures are listed, not blocking.`,
    );
  }

  const maxCheckS = options.checkMaxTimeoutS ?? 1800;
  // Fitted to the recorded check times when there are some, else to the longest a check may run.
  const measured = options.privateDir ? await measuredCheckTimes(options.privateDir) : null;
  const fit = fitToolTimeout(measured, maxCheckS);
  const toolTimeoutS = options.codexToolTimeoutS ?? fit.seconds;
  // The README states the default (MCP_TOOL_TIMEOUT=1860000): said here only when this repository needs another value.
  if (toolTimeoutS !== 1860) {
    notes.push(
      `Claude Code ends an MCP tool call after MCP_TOOL_TIMEOUT milliseconds: start it with MCP_TOOL_TIMEOUT=${toolTimeoutS * 1000} in its environment (${fit.why}). A check that runs longer can still be followed: run_tests and run_typecheck take wait_s and then return the run's id, whose result selfscope://runs/{id} shows once it ends; clients with MCP tasks wait for it through the task.`,
    );
  }
  const toml = (v: string) => JSON.stringify(v);
  const commented: Array<[string, string]> = [
    ['env_vars = ["GITHUB_TOKEN"]', "from Codex's environment, for pull requests (without it: a local proposal)"],
    [`startup_timeout_sec = ${CODEX_STARTUP_TIMEOUT_S}`, 'Codex waits 10 s for a server to start by default'],
    [`tool_timeout_sec = ${toolTimeoutS}`, `Codex ends a tool call at 60 s by default; ${fit.why}`],
  ];
  const width = Math.max(...commented.map(([line]) => line.length)) + 2;
  const codexBlock = [
    '[mcp_servers.selfscope]',
    `command = ${toml(options.server.command)}`,
    `args = [${options.server.args.map(toml).join(', ')}]`,
    ...commented.map(([line, comment]) => `${line.padEnd(width)}# ${comment}`),
  ].join('\n');
  const claudeMcpAdd = `claude mcp add selfscope -- ${[options.server.command, ...options.server.args].map(shellQuote).join(' ')}`;
  const advice = await adviseCommits(repo, options, changes, mcpFiles);
  return { repo, detection, changes, codexBlock, claudeMcpAdd, advice, notes, toolTimeoutS };
}
