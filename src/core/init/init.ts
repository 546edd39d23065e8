import fs from 'node:fs/promises';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { CONFIG_FILE_NAME } from '../../config/load.js';
import { GitRunner } from '../git/runner.js';
import { parseGitHubRemote } from '../github/remote.js';
import { ensureStateDir } from '../state/state-dir.js';

/**
 * `selfscope init`: detects how a bot repository logs, builds and is hosted, then writes
 * selfscope's configuration and the Claude Code MCP configuration. Idempotent: a second
 * run changes nothing; an existing different file is left alone unless `force` is set;
 * every change is shown as a diff.
 */

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

export interface InitResult {
  repo: string;
  detection: Detection;
  changes: FileChange[];
  codexBlock: string;
}

export interface InitOptions {
  repo: string;
  stateDir: string;
  /** How an MCP client starts this selfscope: command + args. */
  server: { command: string; args: string[] };
  force?: boolean;
  dryRun?: boolean;
  /** `$schema` written into the configuration file, for editor completion. */
  schemaRef?: string;
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

async function planFile(repo: string, file: string, next: (current: string | null) => { content: string; conflict: boolean; reason?: string }, options: InitOptions): Promise<FileChange> {
  const abs = path.resolve(repo, file);
  const current = await readText(abs);
  const shown = path.relative(repo, abs).startsWith('..') ? abs : path.relative(repo, abs);
  const { content, conflict, reason } = next(current);
  if (current === content) return { file: shown, action: 'unchanged', diff: '' };
  const diff = diffOf(shown, current, content);
  if (conflict && !options.force) {
    return { file: shown, action: 'skipped', reason: `${reason ?? 'it exists and differs'}; run again with --force to overwrite`, diff };
  }
  if (!options.dryRun) await writeAtomically(abs, content);
  return { file: shown, action: current === null ? 'create' : 'update', diff };
}

export async function runInit(options: InitOptions): Promise<InitResult> {
  const repo = options.repo;
  const detection = await detect(repo);

  const desiredConfig: Record<string, unknown> = {
    ...(options.schemaRef ? { $schema: options.schemaRef } : {}),
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

  if (!options.dryRun) {
    const excludeFile = await ensureStateDir(repo, path.resolve(repo, options.stateDir));
    if (excludeFile) changes.push({ file: path.relative(repo, excludeFile), action: 'update', reason: `added /${options.stateDir}/`, diff: '' });
  }

  const toml = (v: string) => JSON.stringify(v);
  const codexBlock = [
    '[mcp_servers.selfscope]',
    `command = ${toml(options.server.command)}`,
    `args = [${options.server.args.map(toml).join(', ')}]`,
  ].join('\n');
  return { repo, detection, changes, codexBlock };
}
