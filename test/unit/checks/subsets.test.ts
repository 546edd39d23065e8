import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configFileSchema } from '../../../src/config/schema.js';
import { CheckRunner } from '../../../src/core/checks/check-runner.js';
import { selectCommand } from '../../../src/core/checks/select-command.js';
import { bunPath } from '../../helpers/bun.js';
import { fixtureProject } from '../../helpers/fixture-project.js';
import type { TempRepo } from '../../helpers/temp-repo.js';

/**
 * Subsets of a test script that computes its own file list with `$(…)`, as the bot's does
 * (`bun test $(bun run --silent test:default:files)`): files and name_pattern run only what
 * they name, with real bun and real vitest.
 */

const repos: TempRepo[] = [];
afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.cleanup()));
});

let bun: Awaited<ReturnType<typeof bunPath>>;
beforeAll(async () => {
  bun = await bunPath();
});
afterAll(async () => {
  await bun?.cleanup();
});

function runner(dir: string): CheckRunner {
  const config = configFileSchema.parse({ checks: { env: { PATH: bun.path } } });
  return new CheckRunner(config.checks, path.join(dir, '.selfscope'), `${dir}.private`);
}

// Three listed files (5 tests) and one file the list leaves out, which fails: any run that picks it up shows.
function suite(imports: string, ext: string): Record<string, string> {
  return {
    [`src/a.test.${ext}`]: `${imports}\ntest('alpha one', () => { expect(1).toBe(1); });\ntest('alpha two', () => { expect(2).toBe(2); });\n`,
    [`src/b.test.${ext}`]: `${imports}\ntest('beta one', () => { expect(1).toBe(1); });\ntest('shared name', () => { expect(1).toBe(1); });\n`,
    [`src/c.test.${ext}`]: `${imports}\ntest('gamma one', () => { expect(1).toBe(1); });\n`,
    [`e2e/outside.test.${ext}`]: `${imports}\ntest('shared name outside the list', () => { expect(1).toBe(2); });\n`,
  };
}

const executed = (counts: { passed: number; failed: number } | null) => (counts ? counts.passed + counts.failed : null);

describe.each([
  {
    runner: 'bun test',
    files: {
      'package.json': JSON.stringify({ name: 'fixture', type: 'module', scripts: { test: 'bun test $(bun run --silent test:files)', 'test:files': 'bun list-files.ts' } }),
      'list-files.ts': `for (const f of ['src/a.test.ts', 'src/b.test.ts', 'src/c.test.ts']) console.log(f);\n`,
      ...suite(`import { test, expect } from 'bun:test';`, 'ts'),
    },
    link: false,
    ext: 'ts',
  },
  {
    runner: 'vitest',
    files: {
      'package.json': JSON.stringify({ name: 'fixture', type: 'module', scripts: { test: 'vitest run $(node list-files.mjs)' } }),
      'list-files.mjs': `for (const f of ['src/a.test.js', 'src/b.test.js', 'src/c.test.js']) console.log(f);\n`,
      ...suite(`import { test, expect } from 'vitest';`, 'js'),
    },
    link: true,
    ext: 'js',
  },
])('a $runner script whose file list is a $(…)', ({ files, link, ext }) => {
  async function project(): Promise<TempRepo> {
    const repo = await fixtureProject(files, { linkNodeModules: link });
    repos.push(repo);
    return repo;
  }

  it('is recordable: the runner is found, its report flags go before the substitution', async () => {
    const repo = await project();
    const command = await selectCommand(repo.dir, 'test', configFileSchema.parse({}).checks);
    expect(command.unrecordable).toBeNull();
    expect(command.placement.kind).toBe('shell');
    const r = await runner(repo.dir).run({ worktree: repo.dir, check: 'test' });
    expect([r.not_ok_reason, r.counts]).toEqual([null, { passed: 5, failed: 0, skipped: 0, total: 5 }]);
    expect(r.ok).toBe(true);
    expect(r.recorded).toBe(true);
  }, 120_000);

  it('runs only the file named, not the script\'s list', async () => {
    const repo = await project();
    const r = await runner(repo.dir).run({ worktree: repo.dir, check: 'test', files: [`src/b.test.${ext}`] });
    expect(executed(r.counts)).toBe(2);
    expect(r.ok).toBe(true);
    expect(r.recorded).toBe(false);
    expect(r.command.join(' ')).not.toMatch(/list-files|\$\(/);
  }, 120_000);

  it('runs only the tests named, among the script\'s files', async () => {
    const repo = await project();
    const alpha = await runner(repo.dir).run({ worktree: repo.dir, check: 'test', namePattern: 'alpha' });
    expect([executed(alpha.counts), alpha.counts?.passed]).toEqual([2, 2]);
    // The file the list leaves out (and whose test would fail) is not picked up by the name.
    const shared = await runner(repo.dir).run({ worktree: repo.dir, check: 'test', namePattern: 'shared name' });
    expect([executed(shared.counts), shared.ok, shared.recorded]).toEqual([1, true, false]);
  }, 120_000);

  it('combines files and name_pattern: one test of one file', async () => {
    const repo = await project();
    const r = await runner(repo.dir).run({ worktree: repo.dir, check: 'test', files: [`src/a.test.${ext}`], namePattern: 'two' });
    expect([executed(r.counts), r.ok]).toEqual([1, true]);
  }, 120_000);
});
