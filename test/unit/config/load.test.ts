import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configFromEnv, loadConfig } from '../../../src/config/load.js';
import { ConfigurationError } from '../../../src/core/errors.js';
import { ensureStateDir } from '../../../src/core/state/state-dir.js';
import { createTempRepo, git, type TempRepo } from '../../helpers/temp-repo.js';

const repos: TempRepo[] = [];
async function repo(files?: Record<string, string>): Promise<TempRepo> {
  const r = await createTempRepo(files ? { files } : {});
  repos.push(r);
  return r;
}
afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.cleanup()));
});

describe('the private directory', () => {
  it('lies outside the repository, one per repository, under XDG_STATE_HOME', async () => {
    const a = await repo();
    const b = await repo();
    const env = { XDG_STATE_HOME: '/var/tmp/state-home' };
    const ca = await loadConfig({ cwd: a.dir, env });
    const cb = await loadConfig({ cwd: b.dir, env });
    expect(ca.privateDirPath.startsWith('/var/tmp/state-home/selfscope/')).toBe(true);
    expect(path.relative(a.dir, ca.privateDirPath).startsWith('..')).toBe(true);
    expect(ca.privateDirPath).not.toBe(cb.privateDirPath);
    // Started from a linked worktree, the same repository gets the same directory.
    await git(a.dir, ['worktree', 'add', '-q', '-b', 'side', path.join(a.dir, '.selfscope', 'worktrees', 'side')]);
    expect((await loadConfig({ cwd: path.join(a.dir, '.selfscope', 'worktrees', 'side'), env })).privateDirPath).toBe(ca.privateDirPath);
    expect(ca.sources['privateDir']).toBe('default');
  });

  it('refuses a private directory inside the repository, by real path', async () => {
    const { dir } = await repo();
    await expect(loadConfig({ cwd: dir, env: { SELFSCOPE_PRIVATE_DIR: 'keys' } })).rejects.toThrow(/privateDir .* is inside the repository/);
    await fs.symlink(dir, `${dir}-link`);
    try {
      await expect(loadConfig({ cwd: dir, env: { SELFSCOPE_PRIVATE_DIR: `${dir}-link/.private` } })).rejects.toBeInstanceOf(ConfigurationError);
    } finally {
      await fs.rm(`${dir}-link`);
    }
    const outside = await loadConfig({ cwd: dir, env: { SELFSCOPE_PRIVATE_DIR: `${dir}.private` } });
    expect(outside.privateDirPath).toBe(`${dir}.private`);
    expect(outside.sources['privateDir']).toBe('env');
  });
});

describe('loadConfig', () => {
  it('reads the bot log format with zero configuration', async () => {
    const { dir } = await repo();
    const config = await loadConfig({ cwd: dir, env: {} });
    expect(config.repo).toBe(dir);
    expect(config.logs).toEqual(['data/logs/*.ndjson']);
    expect(config.stateDirPath).toBe(path.join(dir, '.selfscope'));
    expect(config.schema.time).toBe('ts');
    expect(config.schema.latencyPaths).toContain('metadata.performance.totalMs');
    expect(config.configFile).toBeNull();
    expect(config.sources['logs']).toBe('default');
    expect(config.sources['repo']).toBe('detected');
  });

  it('finds the repository root from a subdirectory', async () => {
    const { dir } = await repo({ 'src/deep/file.ts': 'export {};\n' });
    const config = await loadConfig({ cwd: path.join(dir, 'src', 'deep'), env: {} });
    expect(config.repo).toBe(dir);
  });

  it('applies file < environment < flags, and says where each value came from', async () => {
    const { dir } = await repo({
      'selfscope.config.json': JSON.stringify({ logs: ['file/*.ndjson'], stateDir: '.from-file', limits: { resultRows: 100, fieldBytes: 999 } }),
    });
    const config = await loadConfig({
      cwd: dir,
      env: { SELFSCOPE_STATE_DIR: '.from-env', SELFSCOPE_LIMITS__RESULT_ROWS: '200' },
      flags: { stateDir: '.from-flag' },
    });
    expect(config.configFile).toBe(path.join(dir, 'selfscope.config.json'));
    expect(config.logs).toEqual(['file/*.ndjson']);
    expect(config.sources['logs']).toBe('file');
    expect(config.limits.resultRows).toBe(200);
    expect(config.sources['limits.resultRows']).toBe('env');
    expect(config.limits.fieldBytes).toBe(999);
    expect(config.sources['limits.fieldBytes']).toBe('file');
    expect(config.stateDir).toBe('.from-flag');
    expect(config.sources['stateDir']).toBe('flag');
    expect(config.stateDirPath).toBe(path.join(dir, '.from-flag'));
    expect(config.sources['limits.queryTimeoutMs']).toBe('default');
  });

  it('names the bad key and the file in a configuration error', async () => {
    const { dir } = await repo({ 'selfscope.config.json': JSON.stringify({ limits: { resultRows: 'many' } }) });
    const error = await loadConfig({ cwd: dir, env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('limits.resultRows');
    expect((error as Error).message).toContain('selfscope.config.json');
    expect((error as ConfigurationError).hint).toMatch(/Fix the named key/);
  });

  it('refuses unknown keys, so a typo is not silently ignored', async () => {
    const { dir } = await repo({ 'selfscope.config.json': JSON.stringify({ log: ['x'] }) });
    await expect(loadConfig({ cwd: dir, env: {} })).rejects.toThrow(/log/);
  });

  it('says where invalid JSON is', async () => {
    const { dir } = await repo({ 'selfscope.config.json': '{ "logs": [ }' });
    const error = (await loadConfig({ cwd: dir, env: {} }).catch((e: unknown) => e)) as ConfigurationError;
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toMatch(/not valid JSON/);
    expect(error.hint).toMatch(/JSON syntax/);
  });

  it('blames the environment for a bad environment value', async () => {
    const { dir } = await repo();
    await expect(loadConfig({ cwd: dir, env: { SELFSCOPE_LIMITS__THREADS: '0' } })).rejects.toThrow(/environment.*limits\.threads/s);
  });

  it('resolves to the main checkout when started inside a linked worktree', async () => {
    const { dir } = await repo();
    const worktree = path.join(dir, '.selfscope', 'worktrees', 'fix-1');
    await git(dir, ['worktree', 'add', '-q', '-b', 'selfscope/fix-1', worktree]);
    const config = await loadConfig({ cwd: worktree, env: {} });
    expect(config.repo).toBe(dir);
    expect(config.stateDirPath).toBe(path.join(dir, '.selfscope'));
  });

  it('falls back to the working directory outside git', async () => {
    const dir = await fs.realpath(await fs.mkdtemp(path.join((await import('node:os')).tmpdir(), 'selfscope-nogit-')));
    try {
      const config = await loadConfig({ cwd: dir, env: {} });
      expect(config.repo).toBe(dir);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('configFromEnv', () => {
  it('maps SELFSCOPE_* names to keys and parses JSON values', () => {
    expect(
      configFromEnv({
        SELFSCOPE_LOGS: 'a/*.ndjson, b/*.ndjson',
        SELFSCOPE_GIT__PROTECTED_BRANCHES: '["main","release"]',
        SELFSCOPE_WATCH__PAUSED: 'true',
        SELFSCOPE_TOKEN: 'secret-not-config',
        OTHER: 'x',
      }),
    ).toEqual({ logs: ['a/*.ndjson', 'b/*.ndjson'], git: { protectedBranches: ['main', 'release'] }, watch: { paused: true } });
  });
});

describe('ensureStateDir', () => {
  it('creates the state directory once and excludes it from git', async () => {
    const { dir } = await repo();
    const state = path.join(dir, '.selfscope');
    await ensureStateDir(dir, state);
    await ensureStateDir(dir, state);
    const exclude = await fs.readFile(path.join(dir, '.git', 'info', 'exclude'), 'utf8');
    expect(exclude.split('\n').filter((l) => l === '/.selfscope/')).toHaveLength(1);
    expect((await fs.stat(state)).mode & 0o777).toBe(0o700);
    await fs.writeFile(path.join(state, 'index.duckdb'), 'x');
    expect(await git(dir, ['status', '--porcelain'])).toBe('');
  });
});
