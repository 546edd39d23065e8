import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CODEX_STARTUP_TIMEOUT_S, detect, parseDotenv, runInit, SCHEMA_REF, type InitOptions, type InitResult } from '../../../src/core/init/init.js';
import { parseGitHubRemote } from '../../../src/core/github/remote.js';
import { loadConfig } from '../../../src/config/load.js';
import { configFileSchema } from '../../../src/config/schema.js';
import { CheckRunner } from '../../../src/core/checks/check-runner.js';
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
    expect(result.changes[2]!.diff).toContain('\n+/.selfscope/\n');
    expect(await fs.readFile(path.join(dir, '.git', 'info', 'exclude'), 'utf8')).toMatch(/^\/\.selfscope\/$/m);
    const config = await loadConfig({ cwd: dir, env: {} });
    expect(config.configFile).toBe(path.join(dir, 'selfscope.config.json'));
    expect(config.logs).toEqual(['data/logs/*.ndjson']);
    // The same relative path on every machine, the one the README shows.
    expect((await read(path.join(dir, 'selfscope.config.json')))['$schema']).toBe(SCHEMA_REF);
    expect(SCHEMA_REF).toBe('./node_modules/selfscope/schema/selfscope.config.schema.json');
    expect(await read(path.join(dir, '.mcp.json'))).toEqual({ mcpServers: { selfscope: server } });
  });

  it('prints a Codex block with the server and timeouts longer than a check may run', async () => {
    const { dir } = await botRepo();
    const result = await runInit(opts(dir, { dryRun: true, checkMaxTimeoutS: 900, codexToolTimeoutS: 960 }));
    const lines = result.codexBlock.split('\n');
    expect(lines[0]).toBe('[mcp_servers.selfscope]');
    const keys = Object.fromEntries(lines.slice(1).map((l) => /^(\w+) = (.*?)(?:\s+#.*)?$/.exec(l)!.slice(1, 3) as [string, string]));
    expect(keys).toEqual({
      command: '"node"',
      args: '["/opt/selfscope/dist/cli/main.js", "serve"]',
      env_vars: '["GITHUB_TOKEN"]',
      startup_timeout_sec: String(CODEX_STARTUP_TIMEOUT_S),
      tool_timeout_sec: '960',
    });
    expect(result.codexBlock).toMatch(/may run 900 s \(checks\.maxTimeoutS\)/);
    expect(result.claudeMcpAdd).toBe('claude mcp add selfscope -- node /opt/selfscope/dist/cli/main.js serve');
    // Defaults: a minute more than checks.maxTimeoutS's default.
    expect((await runInit(opts(dir, { dryRun: true }))).codexBlock).toMatch(/^tool_timeout_sec = 1860 /m);
  });

  it('is idempotent: a second run changes nothing', async () => {
    const { dir } = await botRepo();
    await runInit(opts(dir));
    const before = await fs.readFile(path.join(dir, 'selfscope.config.json'), 'utf8');
    const again = await runInit(opts(dir));
    expect(again.changes.map((c) => c.action)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(again.changes.every((c) => c.diff === '')).toBe(true);
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
    const exclude = await fs.readFile(path.join(dir, '.git', 'info', 'exclude'), 'utf8');
    const result = await runInit(opts(dir, { dryRun: true, mcpConfigPaths: ['config/claude-mcp.json'] }));
    expect(result.changes.map((c) => c.action)).toEqual(['create', 'create', 'create', 'update']);
    await expect(fs.access(path.join(dir, 'selfscope.config.json'))).rejects.toThrow();
    await expect(fs.access(path.join(dir, 'config'))).rejects.toThrow();
    await expect(fs.access(path.join(dir, '.selfscope'))).rejects.toThrow();
    expect(await fs.readFile(path.join(dir, '.git', 'info', 'exclude'), 'utf8')).toBe(exclude);
    expect(await git(dir, ['status', '--porcelain', '--ignored'])).toBe('');
  });

  it.each([
    ['a repository as git init leaves it', null],
    ['an exclude file without a final newline', '# mine\n/build'],
    ['no exclude file', 'remove'],
  ])('shows in a dry run exactly the changes a run then makes, the git exclude included: %s', async (_name, excludeBefore) => {
    const { dir } = await botRepo({ '.env': 'RUNTIME_STRUCTURED_LOGS_FILE_PATH=logs/actions.ndjson\n', '.mcp.json': JSON.stringify({ mcpServers: { other: { command: 'x' } } }) });
    const excludeFile = path.join(dir, '.git', 'info', 'exclude');
    if (excludeBefore === 'remove') await fs.rm(excludeFile);
    else if (excludeBefore !== null) await fs.writeFile(excludeFile, excludeBefore);
    const shape = (r: InitResult) => r.changes.map((c) => ({ file: c.file, action: c.action, diff: c.diff }));
    const dry = await runInit(opts(dir, { dryRun: true }));
    const real = await runInit(opts(dir));
    expect(shape(dry)).toEqual(shape(real));
    expect(shape(real).map((c) => c.file)).toEqual(['selfscope.config.json', '.mcp.json', path.join('.git', 'info', 'exclude')]);
    expect(real.changes[2]!.action).toBe(excludeBefore === 'remove' ? 'create' : 'update');
  });

  it('says what to commit, with each file\'s state in git, and what never to commit', async () => {
    const { dir, privateDir } = await botRepo();
    const dry = await runInit(opts(dir, { dryRun: true, privateDir }));
    expect(dry.advice.commit.map((c) => [c.file, c.state])).toEqual([
      ['selfscope.config.json', 'to create'],
      ['.mcp.json', 'to create'],
    ]);
    const result = await runInit(opts(dir, { privateDir }));
    expect(result.advice.commit.map((c) => [c.file, c.state])).toEqual([
      ['selfscope.config.json', 'untracked'],
      ['.mcp.json', 'untracked'],
    ]);
    expect(result.advice.commit.map((c) => c.sensitive)).toEqual([true, true]);
    expect(result.advice.commit[0]!.why).toMatch(/in git\.sensitivePaths: an agent's commit that changes it needs a person's approval$/);
    // The server lives outside the repository: .mcp.json names a path of this machine.
    expect(result.advice.commit[1]!.why).toMatch(/a path on this machine.*\/opt\/selfscope\/dist\/cli\/main\.js/);
    expect(result.advice.gitAdd).toBe('git add selfscope.config.json .mcp.json && git commit -m "Set up selfscope"');
    expect(result.advice.never.map((n) => n.path)).toEqual(['.selfscope/', '.env', privateDir]);

    await git(dir, ['add', 'selfscope.config.json', '.mcp.json']);
    await git(dir, ['commit', '-q', '-m', 'Set up selfscope']);
    const after = await runInit(opts(dir, { privateDir }));
    expect(after.advice.commit.map((c) => c.state)).toEqual(['committed', 'committed']);
    expect(after.advice.gitAdd).toBeNull();
  });

  it('says when a file it advises to commit is not guarded by git.sensitivePaths', async () => {
    const { dir } = await botRepo();
    const result = await runInit(opts(dir, { mcpConfigPaths: ['config/claude-mcp.json'], sensitivePaths: ['**/selfscope.config.json'] }));
    expect(result.advice.commit.map((c) => [c.file, c.sensitive])).toEqual([
      ['selfscope.config.json', true],
      ['.mcp.json', false],
      [path.join('config', 'claude-mcp.json'), false],
    ]);
    expect(result.advice.commit[2]!.why).toMatch(/not in git\.sensitivePaths: add it there/);
    // With the default list, an MCP file outside it is reported as unguarded too.
    const defaults = await runInit(opts(dir, { dryRun: true, mcpConfigPaths: ['config/claude-mcp.json'] }));
    expect(defaults.advice.commit.map((c) => c.sensitive)).toEqual([true, true, false]);
  });

  it('leaves the git exclude alone for a state directory outside the repository', async () => {
    const { dir, privateDir } = await botRepo();
    const result = await runInit(opts(dir, { stateDir: path.join(privateDir, 'state') }));
    expect(result.changes.map((c) => c.file)).toEqual(['selfscope.config.json', '.mcp.json']);
    expect(await fs.stat(path.join(privateDir, 'state')).then((s) => s.isDirectory())).toBe(true);
  });

  it('notes when the schema it names is not installed in the repository', async () => {
    const { dir } = await botRepo();
    expect((await runInit(opts(dir, { dryRun: true }))).notes.join('\n')).toMatch(/npm i -D/);
    await fs.mkdir(path.join(dir, 'node_modules', 'selfscope', 'schema'), { recursive: true });
    await fs.writeFile(path.join(dir, 'node_modules', 'selfscope', 'schema', 'selfscope.config.schema.json'), '{}');
    expect((await runInit(opts(dir, { dryRun: true }))).notes).toEqual([]);
  });

  it('says how to choose the commit gate when there is a test suite, without running it', async () => {
    const { dir } = await botRepo({ 'package.json': JSON.stringify({ scripts: { test: 'bun test' } }) });
    expect((await runInit(opts(dir, { dryRun: true }))).notes.join('\n')).toMatch(/if it is red set "checks": \{ "gate": "no_new_failures" \}/);
    await fs.writeFile(path.join(dir, 'selfscope.config.json'), JSON.stringify({ checks: { gate: 'strict' } }));
    expect((await runInit(opts(dir, { dryRun: true }))).notes.join('\n')).not.toMatch(/checks\.gate/);
  });
});

describe('selfscope init on a repository whose default branch is red', () => {
  it('proposes checks.gate "no_new_failures" from the recorded full run of the default branch', async () => {
    const repo = await botRepo({
      '.gitignore': '.selfscope/\n',
      'package.json': JSON.stringify({ name: 'bot', type: 'module', scripts: { test: 'node --test' } }),
      'test/a.test.mjs': "import test from 'node:test';\nimport assert from 'node:assert';\ntest('works', () => assert.ok(true));\ntest('needs the network', () => assert.fail('ECONNREFUSED'));\n",
    });
    const run = await new CheckRunner(configFileSchema.parse({}).checks, path.join(repo.dir, '.selfscope'), repo.privateDir, { repo: repo.dir }).run({ worktree: repo.dir, check: 'test' });
    expect(run.recorded).toBe(true);
    const notes = (await runInit(opts(repo.dir, { dryRun: true, privateDir: repo.privateDir }))).notes.join('\n');
    expect(notes).toMatch(new RegExp(`Proposed: "checks": \\{ "gate": "no_new_failures" \\}.*\\(main at [0-9a-f]{12}, ${run.id}\\) has 1 of 2 tests failing`));
  }, 120_000);
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
