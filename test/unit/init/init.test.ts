import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { detect, parseDotenv, runInit, type InitOptions } from '../../../src/core/init/init.js';
import { parseGitHubRemote } from '../../../src/core/github/remote.js';
import { loadConfig } from '../../../src/config/load.js';
import { createTempRepo, git, type TempRepo } from '../../helpers/temp-repo.js';

const repos: TempRepo[] = [];
afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.cleanup()));
});

async function botRepo(files: Record<string, string> = {}): Promise<TempRepo> {
  const repo = await createTempRepo({ files });
  repos.push(repo);
  return repo;
}

const server = { command: 'node', args: ['/opt/selfscope/dist/cli/main.js', 'serve'] };
const opts = (repo: string, extra: Partial<InitOptions> = {}): InitOptions => ({ repo, stateDir: '.selfscope', server, ...extra });
const read = async (file: string) => JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;

describe('selfscope init', () => {
  it('detects the bot: log path from .env, bun from its lockfile, scripts, the GitHub remote', async () => {
    const { dir } = await botRepo({
      '.env': '# bot settings\nexport RUNTIME_STRUCTURED_LOGS_FILE_PATH="var/actions/runtime-actions.ndjson"\nOTHER=1\n',
      'package.json': JSON.stringify({ scripts: { typecheck: 'tsc -b --noEmit', test: 'bun test' } }),
      'bun.lock': '',
    });
    await git(dir, ['remote', 'add', 'origin', 'https://github.com/Volpestyle/clanky.git']);
    const d = await detect(dir);
    expect(d.logs).toEqual(['var/actions/*.ndjson']);
    expect(d.logsReason).toMatch(/RUNTIME_STRUCTURED_LOGS_FILE_PATH/);
    expect(d.packageManager).toBe('bun');
    expect(d.scripts).toEqual({ typecheck: 'tsc -b --noEmit', test: 'bun test' });
    expect(d.github).toEqual({ owner: 'Volpestyle', repo: 'clanky', remote: 'origin' });
  });

  it('writes a configuration that loads, the MCP config, and the git exclude, on a fresh repository', async () => {
    const { dir } = await botRepo({ 'package.json': '{}', 'package-lock.json': '{}' });
    const result = await runInit(opts(dir));
    expect(result.changes.map((c) => [c.file, c.action])).toEqual([
      ['selfscope.config.json', 'create'],
      ['.mcp.json', 'create'],
      [path.join('.git', 'info', 'exclude'), 'update'],
    ]);
    expect(result.changes[0]!.diff).toContain('+  "logs": [');
    const config = await loadConfig({ cwd: dir, env: {} });
    expect(config.configFile).toBe(path.join(dir, 'selfscope.config.json'));
    expect(config.logs).toEqual(['data/logs/*.ndjson']);
    expect(await read(path.join(dir, '.mcp.json'))).toEqual({ mcpServers: { selfscope: server } });
    expect(result.codexBlock).toBe('[mcp_servers.selfscope]\ncommand = "node"\nargs = ["/opt/selfscope/dist/cli/main.js", "serve"]');
  });

  it('is idempotent: a second run changes nothing', async () => {
    const { dir } = await botRepo();
    await runInit(opts(dir));
    const before = await fs.readFile(path.join(dir, 'selfscope.config.json'), 'utf8');
    const again = await runInit(opts(dir));
    expect(again.changes.map((c) => c.action)).toEqual(['unchanged', 'unchanged']);
    expect(await fs.readFile(path.join(dir, 'selfscope.config.json'), 'utf8')).toBe(before);
  });

  it('keeps other MCP servers and a person’s configuration values', async () => {
    const { dir } = await botRepo({
      '.mcp.json': JSON.stringify({ mcpServers: { github: { command: 'gh-mcp', args: ['--x'] } }, other: true }),
      'selfscope.config.json': JSON.stringify({ logs: ['custom/*.ndjson'], limits: { resultRows: 50 } }),
    });
    const result = await runInit(opts(dir));
    expect(result.changes.find((c) => c.file === '.mcp.json')?.action).toBe('update');
    expect(await read(path.join(dir, '.mcp.json'))).toEqual({ mcpServers: { github: { command: 'gh-mcp', args: ['--x'] }, selfscope: server }, other: true });
    const config = await read(path.join(dir, 'selfscope.config.json'));
    expect(config['logs']).toEqual(['custom/*.ndjson']);
    expect(config['limits']).toEqual({ resultRows: 50 });
  });

  it('never overwrites a different selfscope server without --force, and shows the diff', async () => {
    const original = JSON.stringify({ mcpServers: { selfscope: { command: 'old', args: [] } } });
    const { dir } = await botRepo({ '.mcp.json': original });
    const refused = await runInit(opts(dir));
    const change = refused.changes.find((c) => c.file === '.mcp.json')!;
    expect(change.action).toBe('skipped');
    expect(change.reason).toMatch(/--force/);
    expect(change.diff).toContain('-');
    expect(await fs.readFile(path.join(dir, '.mcp.json'), 'utf8')).toBe(original);
    const forced = await runInit(opts(dir, { force: true }));
    expect(forced.changes.find((c) => c.file === '.mcp.json')?.action).toBe('update');
    expect(await read(path.join(dir, '.mcp.json'))).toEqual({ mcpServers: { selfscope: server } });
  });

  it('writes nothing in a dry run', async () => {
    const { dir } = await botRepo();
    const result = await runInit(opts(dir, { dryRun: true, mcpConfigPaths: ['config/claude-mcp.json'] }));
    expect(result.changes.map((c) => c.action)).toEqual(['create', 'create', 'create']);
    await expect(fs.access(path.join(dir, 'selfscope.config.json'))).rejects.toThrow();
    await expect(fs.access(path.join(dir, 'config'))).rejects.toThrow();
    expect(await git(dir, ['status', '--porcelain'])).toBe('');
  });
});

describe('parsers', () => {
  it('reads dotenv lines', () => {
    expect(parseDotenv("A=1\n# c\nexport B='two words'\nC=x # note\n  D = \"q\"\nbad line")).toEqual({ A: '1', B: 'two words', C: 'x', D: 'q' });
  });

  it('reads GitHub remotes in their three forms, and nothing else', () => {
    expect(parseGitHubRemote('git@github.com:o/r.git')).toEqual({ owner: 'o', repo: 'r' });
    expect(parseGitHubRemote('https://github.com/o/r')).toEqual({ owner: 'o', repo: 'r' });
    expect(parseGitHubRemote('ssh://git@github.com/o/r.git')).toEqual({ owner: 'o', repo: 'r' });
    expect(parseGitHubRemote('https://gitlab.com/o/r.git')).toBeNull();
    expect(parseGitHubRemote('/tmp/bare.git')).toBeNull();
  });
});
