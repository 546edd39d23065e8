import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { configFileSchema } from '../../../src/config/schema.js';
import { ConfigurationError, UserInputError } from '../../../src/core/errors.js';
import { createBranchWorktree } from '../../../src/core/git/branch.js';
import { resolveWorktree, worktreesDir } from '../../../src/core/git/worktrees.js';
import { CheckRunner } from '../../../src/core/checks/check-runner.js';
import { rebaseBuildInfo } from '../../../src/core/worktree/prepare.js';
import { sandboxedStepRunner } from '../../../src/core/worktree/setup-steps.js';
import { PACKAGE_ROOT } from '../../helpers/mcp-client.js';
import { createTempRepo, git, GIT_TEST_ENV, type TempRepo } from '../../helpers/temp-repo.js';

/**
 * A repository shaped like the bot's: default branch master, `node_modules/` (trailing
 * slash) ignored, a workspace package with its own node_modules, a build output the tests
 * need (dashboard/dist, ignored), a submodule, and a TypeScript project with references.
 */

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

const TSCONFIG_BASE = JSON.stringify({ compilerOptions: { incremental: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, types: [] } });

async function botShapedRepo(): Promise<TempRepo & { stateDirPath: string; sub: string }> {
  const sub = await createTempRepo({ files: { 'lib.ts': 'export const fromSubmodule = 1;\n' } });
  cleanups.push(sub.cleanup);
  const repo = await createTempRepo({
    files: {
      '.gitignore': 'node_modules/\n.selfscope/\ndashboard/dist/\n*.tsbuildinfo\npackages/*/node_modules/\n',
      'package.json': JSON.stringify({ name: 'bot', type: 'module', workspaces: ['packages/*'] }),
      'packages/lib/package.json': JSON.stringify({ name: 'lib', type: 'module' }),
      'tsconfig.base.json': TSCONFIG_BASE,
      'tsconfig.json': JSON.stringify({ files: [], references: [{ path: './tsconfig.app.json' }, { path: './tsconfig.tests.json' }] }),
      'tsconfig.app.json': JSON.stringify({ extends: './tsconfig.base.json', include: ['src/**/*.ts'], exclude: ['src/**/*.test.ts'] }),
      'tsconfig.tests.json': JSON.stringify({ extends: './tsconfig.base.json', include: ['tests/**/*.ts'] }),
      'src/index.ts': 'export const answer: number = 42;\n',
      'tests/index.test.ts': "import { answer } from '../src/index.js';\nexport const doubled: number = answer * 2;\n",
    },
  });
  cleanups.push(repo.cleanup);
  await git(repo.dir, ['branch', '-m', 'main', 'master']);
  await execa('git', ['-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', sub.dir, 'vendor/sub'], { cwd: repo.dir, env: GIT_TEST_ENV });
  await git(repo.dir, ['commit', '-q', '-m', 'add submodule']);
  // Installed dependencies (ignored): a package at the root, one in the workspace package, typescript.
  await fs.mkdir(path.join(repo.dir, 'node_modules', 'leftpad'), { recursive: true });
  await fs.writeFile(path.join(repo.dir, 'node_modules', 'leftpad', 'package.json'), JSON.stringify({ name: 'leftpad', main: 'index.js' }));
  await fs.writeFile(path.join(repo.dir, 'node_modules', 'leftpad', 'index.js'), "module.exports = 'leftpad from main';\n");
  await fs.mkdir(path.join(repo.dir, 'node_modules', '.vite'), { recursive: true });
  await fs.symlink(path.join(PACKAGE_ROOT, 'node_modules', 'typescript'), path.join(repo.dir, 'node_modules', 'typescript'), 'dir');
  await fs.mkdir(path.join(repo.dir, 'packages', 'lib', 'node_modules', 'inner'), { recursive: true });
  await fs.writeFile(path.join(repo.dir, 'packages', 'lib', 'node_modules', 'inner', 'index.js'), "module.exports = 'inner';\n");
  // The build output the tests read.
  await fs.mkdir(path.join(repo.dir, 'dashboard', 'dist'), { recursive: true });
  await fs.writeFile(path.join(repo.dir, 'dashboard', 'dist', 'index.html'), '<html>built</html>\n');
  return { ...repo, stateDirPath: path.join(repo.dir, '.selfscope'), sub: sub.dir };
}

function create(repo: TempRepo & { stateDirPath: string }, extra: Partial<Parameters<typeof createBranchWorktree>[0]> = {}) {
  return createBranchWorktree({ repo: repo.dir, stateDirPath: repo.stateDirPath, privateDirPath: repo.privateDir, name: 'fix-queue', prefix: 'selfscope/', remote: 'origin', ...extra });
}

const TSC = path.join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

describe('a new worktree works like the main checkout', () => {
  it('links node_modules at the root and in workspace packages although .gitignore says node_modules/, and stays clean', async () => {
    const repo = await botShapedRepo();
    const b = await create(repo);
    expect(b.base).toBe('master');
    expect(b.prepared?.dependencies).toEqual(['node_modules', 'packages/lib/node_modules']);
    // A real directory (which `node_modules/` ignores), not a link (which it would not).
    expect((await fs.lstat(path.join(b.worktree, 'node_modules'))).isDirectory()).toBe(true);
    expect(await git(b.worktree, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
    const { stdout } = await execa('node', ['-e', "console.log(require('leftpad'))"], { cwd: b.worktree });
    expect(stdout).toBe('leftpad from main');
    const inner = await execa('node', ['-e', "console.log(require('inner'))"], { cwd: path.join(b.worktree, 'packages', 'lib') });
    expect(inner.stdout).toBe('inner');
    // Caches tools write stay the worktree's own.
    await expect(fs.lstat(path.join(b.worktree, 'node_modules', '.vite'))).rejects.toThrow();
  });

  it('checks out the submodule from the main checkout, with no network, and leaves both trees clean', async () => {
    const repo = await botShapedRepo();
    const b = await create(repo);
    expect(b.prepared?.submodules).toEqual(['vendor/sub']);
    expect(await fs.readFile(path.join(b.worktree, 'vendor', 'sub', 'lib.ts'), 'utf8')).toBe('export const fromSubmodule = 1;\n');
    expect(await git(b.worktree, ['status', '--porcelain'])).toBe('');
    expect(await git(repo.dir, ['status', '--porcelain'])).toBe('');
    // The recorded commit, not whatever the submodule's upstream has now.
    const recorded = (await git(b.worktree, ['ls-tree', 'HEAD', 'vendor/sub'])).split(/\s+/)[2];
    expect((await git(path.join(b.worktree, 'vendor', 'sub'), ['rev-parse', 'HEAD'])).trim()).toBe(recorded);
  });

  it('copies ignored build outputs named in worktree.copy, and refuses a tracked or outside path', async () => {
    const repo = await botShapedRepo();
    const plain = await create(repo, { name: 'without-copy' });
    await expect(fs.access(path.join(plain.worktree, 'dashboard', 'dist'))).rejects.toThrow();
    const b = await create(repo, { prepare: { copy: ['dashboard/dist', 'missing/out'] } });
    expect(b.prepared?.copied).toEqual(['dashboard/dist']);
    expect(b.prepared?.skipped.some((s) => s.startsWith('missing/out'))).toBe(true);
    expect(await fs.readFile(path.join(b.worktree, 'dashboard', 'dist', 'index.html'), 'utf8')).toBe('<html>built</html>\n');
    expect(await git(b.worktree, ['status', '--porcelain'])).toBe('');
    for (const bad of ['src', '../outside', '/etc', '.git/config']) {
      await expect(create(repo, { name: `bad-${bad.length}`, prepare: { copy: [bad] } })).rejects.toBeInstanceOf(ConfigurationError);
      expect(await git(repo.dir, ['branch', '--list', `selfscope/bad-${bad.length}`])).toBe('');
    }
  });

  it('runs worktree.setup in the sandbox: it can build in the worktree and cannot see the private directory', async () => {
    const repo = await botShapedRepo();
    await fs.mkdir(repo.privateDir, { recursive: true });
    await fs.writeFile(path.join(repo.privateDir, 'record.key'), 'secret');
    const checks = configFileSchema.parse({}).checks;
    const runStep = sandboxedStepRunner({ checks, repo: repo.dir, stateDirPath: repo.stateDirPath, privateDirPath: repo.privateDir });
    const step = ['node', '-e', "const fs=require('fs');fs.mkdirSync('dashboard/dist',{recursive:true});fs.writeFileSync('dashboard/dist/seen.txt', String(fs.existsSync(process.argv[1])))", path.join(repo.privateDir, 'record.key')];
    const b = await create(repo, { prepare: { setup: [step], runStep, setupTimeoutS: 120 } });
    expect(b.setup).toHaveLength(1);
    expect(b.setup[0]!.exit_code).toBe(0);
    expect(await fs.readFile(path.join(b.worktree, 'dashboard', 'dist', 'seen.txt'), 'utf8')).toBe('false');
  });

  it('removes the worktree and the new branch when a setup step fails, and reports the output tail', async () => {
    const repo = await botShapedRepo();
    const checks = configFileSchema.parse({}).checks;
    const runStep = sandboxedStepRunner({ checks, repo: repo.dir, stateDirPath: repo.stateDirPath, privateDirPath: repo.privateDir });
    const error = (await create(repo, { prepare: { setup: [['node', '-e', "console.log('vite: build failed here'); process.exit(3)"]], runStep, setupTimeoutS: 120 } }).catch((e: unknown) => e)) as ConfigurationError;
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toMatch(/step 1 of 1 .* exited with 3; the worktree was not created/);
    expect(String(error.details?.['untrusted_detail'])).toMatch(/vite: build failed here/);
    await expect(fs.access(path.join(repo.stateDirPath, 'worktrees', 'selfscope-fix-queue'))).rejects.toThrow();
    expect(await git(repo.dir, ['worktree', 'list', '--porcelain'])).not.toMatch(/selfscope-fix-queue/);
    expect(await git(repo.dir, ['branch', '--list', 'selfscope/fix-queue'])).toBe('');
    expect(await git(path.join(repo.dir, 'vendor', 'sub'), ['worktree', 'list', '--porcelain'])).not.toMatch(/selfscope-fix-queue/);
    // Nothing half-made is in the way of the next attempt.
    const again = await create(repo);
    expect(again.created).toBe(true);
  });

  it('stops a setup step at its time limit', async () => {
    const repo = await botShapedRepo();
    const checks = configFileSchema.parse({}).checks;
    const runStep = sandboxedStepRunner({ checks, repo: repo.dir, stateDirPath: repo.stateDirPath, privateDirPath: repo.privateDir });
    await expect(create(repo, { prepare: { setup: [['node', '-e', 'setInterval(() => {}, 1000)']], runStep, setupTimeoutS: 1 } })).rejects.toThrow(/timed out after 1 s/);
    expect(await git(repo.dir, ['branch', '--list', 'selfscope/fix-queue'])).toBe('');
  });
});

describe('TypeScript build info', () => {
  // As the bot runs it: `tsc -b --noEmit` over a tsconfig.json of references.
  async function tscBuild(cwd: string): Promise<string> {
    const { stdout } = await execa('node', [TSC, '-b', '--noEmit', '--verbose'], { cwd, reject: false, env: { PATH: process.env['PATH'] ?? '' } });
    return stdout;
  }

  it('carries the main checkout\'s build info, up to date when the main checkout is clean on the same tree', async () => {
    const repo = await botShapedRepo();
    const main = await tscBuild(repo.dir);
    expect(main).toMatch(/Building project/);
    const b = await create(repo);
    expect(b.prepared?.build_info.files.sort()).toEqual(['tsconfig.app.tsbuildinfo', 'tsconfig.tests.tsbuildinfo']);
    expect(b.prepared?.build_info.fresh).toBe(true);
    expect(await git(b.worktree, ['status', '--porcelain'])).toBe('');
    const inWorktree = await tscBuild(b.worktree);
    expect(inWorktree).toMatch(/Project 'tsconfig.app.json' is up to date/);
    // An edit makes its project build again: the copy never hides a change.
    await fs.writeFile(path.join(b.worktree, 'src', 'index.ts'), 'export const answer: number = 43;\n');
    expect(await tscBuild(b.worktree)).toMatch(/Building project '.*tsconfig.app.json'/);
  });

  it('does not mark the copy up to date when the main checkout has changes (tsc -b then checks again)', async () => {
    const repo = await botShapedRepo();
    await tscBuild(repo.dir);
    await fs.writeFile(path.join(repo.dir, 'src', 'index.ts'), 'export const answer: number = 1;\n');
    const b = await create(repo);
    expect(b.prepared?.build_info.files.length).toBe(2);
    expect(b.prepared?.build_info.fresh).toBe(false);
    expect(await tscBuild(b.worktree)).toMatch(/Building project '.*tsconfig.app.json'/);
  });
});

describe('TypeScript build info and copied outputs', () => {
  it('does not mark the copy up to date when a copied output is newer than it (a generated input)', async () => {
    const repo = await botShapedRepo();
    await execa('node', [TSC, '-b', '--noEmit'], { cwd: repo.dir });
    const later = new Date(Date.now() + 60_000);
    await fs.utimes(path.join(repo.dir, 'dashboard', 'dist', 'index.html'), later, later);
    const b = await create(repo, { prepare: { copy: ['dashboard/dist'] } });
    expect(b.prepared?.build_info.files.length).toBe(2);
    expect(b.prepared?.build_info.fresh).toBe(false);
    const fresh = await create(repo, { name: 'no-copy' });
    expect(fresh.prepared?.build_info.fresh).toBe(true);
  });
});

describe('rebaseBuildInfo', () => {
  it('keeps the repository\'s own files and renames the rest to where the worktree finds them', () => {
    const info = JSON.stringify({ fileNames: ['./node_modules/typescript/lib/lib.d.ts', './src/a.ts', '../../elsewhere/x.d.ts', './packages/p/node_modules/q/index.d.ts'], version: '5.9.3' });
    const out = JSON.parse(rebaseBuildInfo(info, '/r', '/r/.selfscope/worktrees/w', '/r')) as { fileNames: string[]; version: string };
    expect(out.fileNames).toEqual(['../../../node_modules/typescript/lib/lib.d.ts', './src/a.ts', '../../../../elsewhere/x.d.ts', '../../../packages/p/node_modules/q/index.d.ts']);
    expect(out.version).toBe('5.9.3');
    expect(rebaseBuildInfo('{"root":["./src/a.ts"]}', '/r', '/w', '/r')).toBe('{"root":["./src/a.ts"]}');
    expect(rebaseBuildInfo('not json', '/r', '/w', '/r')).toBe('not json');
  });
});

describe('worktree.dir', () => {
  it('creates worktrees outside the repository, where tools then accept them and node finds the dependencies', async () => {
    const repo = await botShapedRepo();
    const outside = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-wt-')));
    cleanups.push(() => fs.rm(outside, { recursive: true, force: true }));
    const b = await create(repo, { worktreeDir: outside });
    expect(b.worktree).toBe(path.join(outside, 'selfscope-fix-queue'));
    const { stdout } = await execa('node', ['-e', "console.log(require('leftpad'))"], { cwd: b.worktree });
    expect(stdout).toBe('leftpad from main');
    const opts = { repo: repo.dir, stateDirPath: repo.stateDirPath, privateDirPath: repo.privateDir, worktreeDir: outside, cwd: repo.dir };
    expect(await resolveWorktree({ ...opts, requested: b.worktree })).toBe(b.worktree);
    // Without the setting, the same directory is not selfscope's.
    await expect(resolveWorktree({ ...opts, worktreeDir: undefined, requested: b.worktree })).rejects.toBeInstanceOf(UserInputError);
    // Only its direct children that are this repository's worktrees.
    await fs.mkdir(path.join(outside, 'stray'));
    await expect(resolveWorktree({ ...opts, requested: path.join(outside, 'stray') })).rejects.toBeInstanceOf(UserInputError);
  });

  it('runs the sandboxed typecheck there with the main checkout\'s dependencies', async () => {
    const repo = await botShapedRepo();
    const outside = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-wt-')));
    cleanups.push(() => fs.rm(outside, { recursive: true, force: true }));
    const b = await create(repo, { worktreeDir: outside });
    const checks = configFileSchema.parse({ checks: { typecheck: ['node', 'node_modules/typescript/bin/tsc', '-b', '--noEmit'] } }).checks;
    const runner = new CheckRunner(checks, repo.stateDirPath, repo.privateDir, { repo: repo.dir });
    const passed = await runner.run({ worktree: b.worktree, check: 'typecheck', timeoutS: 300 });
    expect(passed.sandbox).toBe('bwrap');
    expect(passed.output_tail).toBe('');
    expect(passed.ok).toBe(true);
    await fs.writeFile(path.join(b.worktree, 'src', 'index.ts'), "export const answer: number = 'no';\n");
    const failed = await runner.run({ worktree: b.worktree, check: 'typecheck', timeoutS: 300 });
    expect(failed.ok).toBe(false);
    expect(failed.diagnostics[0]?.file).toMatch(/src\/index\.ts$/);
  });

  it('refuses a directory in or around the private directory, around the repository, in .git, or unignored in the repository', async () => {
    const repo = await botShapedRepo();
    const loc = { repo: repo.dir, stateDirPath: repo.stateDirPath, privateDirPath: repo.privateDir };
    for (const dir of [path.join(repo.privateDir, 'wt'), path.dirname(repo.privateDir), path.dirname(repo.dir), '/', '.git/wt', 'src/wt', '', 'a\u0000b']) {
      await expect(worktreesDir({ ...loc, dir })).rejects.toBeInstanceOf(ConfigurationError);
    }
    expect(await worktreesDir({ ...loc, dir: 'dashboard/dist/wt' })).toBe(path.join(repo.dir, 'dashboard', 'dist', 'wt'));
    expect(await worktreesDir({ ...loc, dir: '../elsewhere' })).toBe(path.join(path.dirname(repo.dir), 'elsewhere'));
    await expect(create(repo, { worktreeDir: path.join(repo.privateDir, 'wt') })).rejects.toBeInstanceOf(ConfigurationError);
  });
});
