import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ConfigurationError } from '../core/errors.js';
import { configFileSchema, type ConfigFile } from './schema.js';
import { readRepositoryRoot } from './discover-root.js';

export const CONFIG_FILE_NAME = 'selfscope.config.json';

/** Where a resolved value came from, for `selfscope config` and `selfscope_status`. */
export type ValueSource = 'default' | 'file' | 'env' | 'flag' | 'detected';

export interface ResolvedConfig extends Omit<ConfigFile, 'repo' | '$schema'> {
  /** Absolute repository root. */
  repo: string;
  /** Absolute state directory. */
  stateDirPath: string;
  /** Absolute private directory: keys, signed records, approvals, audit log (outside the repository). */
  privateDirPath: string;
  /** The configuration file read, if any. */
  configFile: string | null;
  /** Source of each leaf value, keyed by dotted path. */
  sources: Record<string, ValueSource>;
}

export interface LoadConfigOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Values from CLI flags, in the file's shape (highest precedence). */
  flags?: Record<string, unknown>;
  /** An explicit configuration file (else SELFSCOPE_CONFIG, else <repo>/selfscope.config.json). */
  configPath?: string;
}

// Variables that are not configuration keys (secrets and pointers).
const RESERVED_ENV = new Set(['SELFSCOPE_TOKEN', 'SELFSCOPE_CONFIG', 'SELFSCOPE_WEBHOOK_URL', 'SELFSCOPE_HOOK_LAUNCH']);

type Tree = Record<string, unknown>;

function isPlainObject(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepMerge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? deepMerge(out[key] as Tree, value) : value;
  }
  return out;
}

function leafPaths(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([key, value]) => {
    const p = prefix ? `${prefix}.${key}` : key;
    return isPlainObject(value) && Object.keys(value).length > 0 ? leafPaths(value, p) : [p];
  });
}

function hasPath(tree: Tree, dotted: string): boolean {
  let node: unknown = tree;
  for (const part of dotted.split('.')) {
    if (!isPlainObject(node) || !(part in node)) return false;
    node = node[part];
  }
  return true;
}

function snakeToCamel(part: string): string {
  return part.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * `SELFSCOPE_STATE_DIR=x` sets stateDir; `SELFSCOPE_LIMITS__RESULT_ROWS=100` sets
 * limits.resultRows (double underscore nests). Values are JSON when they parse as JSON
 * (numbers, booleans, arrays), else strings; `SELFSCOPE_LOGS` also takes a comma list.
 */
export function configFromEnv(env: NodeJS.ProcessEnv): Tree {
  const out: Tree = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('SELFSCOPE_') || RESERVED_ENV.has(name) || raw === undefined || raw === '') continue;
    const parts = name.slice('SELFSCOPE_'.length).split('__').map(snakeToCamel);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      if (parts.length === 1 && parts[0] === 'logs') value = raw.split(',').map((s) => s.trim()).filter(Boolean);
    }
    let node = out;
    parts.slice(0, -1).forEach((part) => {
      node = (node[part] = isPlainObject(node[part]) ? node[part] : {}) as Tree;
    });
    node[parts[parts.length - 1]!] = value;
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue, origin: string): string {
  const key = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
  return `${origin}: "${key}": ${issue.message}`;
}

async function readConfigFile(file: string): Promise<Tree> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigurationError(`Cannot read the configuration file ${file}.`, {
      cause: error,
      hint: 'Check the path and its permissions, or remove SELFSCOPE_CONFIG / --config.',
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigurationError(`${file} is not valid JSON: ${(error as Error).message}.`, {
      cause: error,
      hint: 'Fix the JSON syntax (no comments or trailing commas), then start again.',
    });
  }
  if (!isPlainObject(parsed)) {
    throw new ConfigurationError(`${file} must hold a JSON object.`, { hint: 'Write {} for the defaults.' });
  }
  return parsed;
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** Resolves the configuration: defaults < file < environment < flags. */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<ResolvedConfig> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const env = options.env ?? process.env;
  const fromEnv = configFromEnv(env);
  const fromFlags = options.flags ?? {};

  const explicitRepo = (fromFlags['repo'] ?? fromEnv['repo']) as string | undefined;
  const detected = explicitRepo === undefined ? await detectRepositoryRoot(cwd) : null;
  const repoGuess = explicitRepo !== undefined ? path.resolve(cwd, explicitRepo) : (detected ?? cwd);

  const configPath = options.configPath ?? env['SELFSCOPE_CONFIG'] ?? path.join(repoGuess, CONFIG_FILE_NAME);
  const configFile = options.configPath !== undefined || env['SELFSCOPE_CONFIG'] !== undefined || (await exists(configPath)) ? path.resolve(cwd, configPath) : null;
  const fromFile = configFile ? await readConfigFile(configFile) : {};

  // Validate each layer on its own first, so an error names where the bad value came from. An
  // empty layer has nothing to name; when one layer holds everything, its reading is the result
  // (each parse builds the whole tree of defaults: start-up pays for every one).
  const readings: ConfigFile[] = [];
  for (const [layer, origin] of [
    [fromFile, configFile ?? CONFIG_FILE_NAME],
    [fromEnv, 'environment (SELFSCOPE_*)'],
    [fromFlags, 'command-line flags'],
  ] as const) {
    if (Object.keys(layer).length === 0) continue;
    const partial = configFileSchema.safeParse(layer);
    if (!partial.success) {
      const lines = partial.error.issues.slice(0, 5).map((issue) => describeIssue(issue, origin));
      throw new ConfigurationError(`Invalid configuration:\n${lines.join('\n')}`, {
        hint: 'Fix the named key (see the configuration reference in the README, or schema/selfscope.config.schema.json), then start again.',
        details: { issues: lines },
      });
    }
    readings.push(partial.data);
  }

  const parsed = readings.length === 1 ? readings[0]! : configFileSchema.parse(deepMerge(deepMerge(fromFile, fromEnv), fromFlags));

  const repoFromFile = fromFile['repo'] as string | undefined;
  const repo =
    explicitRepo !== undefined
      ? path.resolve(cwd, explicitRepo)
      : repoFromFile !== undefined
        ? path.resolve(configFile ? path.dirname(configFile) : cwd, repoFromFile)
        : repoGuess;

  const sources: Record<string, ValueSource> = {};
  const { $schema: _schema, repo: _repo, ...rest } = parsed;
  for (const leaf of leafPaths(rest as Tree)) {
    sources[leaf] = hasPath(fromFlags, leaf) ? 'flag' : hasPath(fromEnv, leaf) ? 'env' : hasPath(fromFile, leaf) ? 'file' : 'default';
  }
  sources['repo'] = explicitRepo !== undefined ? (fromFlags['repo'] !== undefined ? 'flag' : 'env') : repoFromFile !== undefined ? 'file' : 'detected';

  const stateDirPath = path.resolve(repo, rest.stateDir);
  const privateDirPath = await resolvePrivateDir(repo, rest.privateDir, env);
  sources['privateDir'] = hasPath(fromFlags, 'privateDir') ? 'flag' : hasPath(fromEnv, 'privateDir') ? 'env' : hasPath(fromFile, 'privateDir') ? 'file' : 'default';
  return { ...rest, repo, stateDirPath, privateDirPath, configFile, sources };
}

/**
 * The repository around `cwd`: read from the file system when the layout is an ordinary
 * one, so that loading the configuration spawns no git (a server answers tools/list
 * sooner); git decides the rest.
 */
async function detectRepositoryRoot(cwd: string): Promise<string | null> {
  const read = await readRepositoryRoot(cwd);
  if (read !== undefined) return read;
  const { findRepositoryRoot } = await import('./repo-root.js');
  return findRepositoryRoot(cwd);
}

/**
 * Where the private state lives: outside the repository, so that nothing an agent can edit
 * or run from its worktree (tests, a sandboxed shell) reaches the key that signs records.
 * One directory per repository, named after its real path.
 */
async function resolvePrivateDir(repo: string, configured: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  const realRepo = await fs.realpath(repo).catch(() => path.resolve(repo));
  let dir: string;
  if (configured !== undefined) {
    dir = configured.startsWith('~/') ? path.join(os.homedir(), configured.slice(2)) : path.resolve(repo, configured);
  } else {
    const base = env['XDG_STATE_HOME'] && path.isAbsolute(env['XDG_STATE_HOME']) ? env['XDG_STATE_HOME'] : path.join(os.homedir(), '.local', 'state');
    const slug = path.basename(realRepo).replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 40) || 'repo';
    dir = path.join(base, 'selfscope', `${slug}-${createHash('sha256').update(realRepo).digest('hex').slice(0, 12)}`);
  }
  const realDir = await realPathOfNearest(dir);
  const rel = path.relative(realRepo, realDir);
  if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) {
    throw new ConfigurationError(`privateDir (${dir}) is inside the repository.`, {
      hint: 'The private state (record key, approvals) must live outside the repository, where no worktree or test can reach it: remove privateDir, or point it outside (e.g. ~/.local/state/selfscope/<name>).',
    });
  }
  return dir;
}

/** The real path of `p`, or of its nearest existing ancestor joined with the rest. */
async function realPathOfNearest(p: string): Promise<string> {
  const rest: string[] = [];
  let current = path.resolve(p);
  for (;;) {
    try {
      return path.join(await fs.realpath(current), ...rest.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return path.resolve(p);
      rest.push(path.basename(current));
      current = parent;
    }
  }
}
