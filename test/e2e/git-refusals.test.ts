import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStdio, type StdioSession } from '../helpers/mcp-client.js';
import { createTempRepo, git, type TempRepo } from '../helpers/temp-repo.js';

/**
 * Wrong and hostile arguments to git_branch_create, git_diff and git_pr_create, through the
 * built server: each must come back as a typed refusal that says what to do, never as an
 * "unexpected error" (which tells the agent nothing), and must change nothing it should not.
 */

const XDG = { XDG_STATE_HOME: process.env['XDG_STATE_HOME'] ?? '' };

let repo: TempRepo;
let session: StdioSession;
let worktree: string;

interface ToolText {
  isError: boolean;
  text: string;
  structured: Record<string, unknown> | undefined;
}

async function call(name: string, args: Record<string, unknown>): Promise<ToolText> {
  const r = await session.client.callTool({ name, arguments: args });
  return { isError: r.isError === true, text: (r.content as Array<{ text?: string }>).map((c) => c.text ?? '').join('\n'), structured: r.structuredContent as Record<string, unknown> | undefined };
}

function expectTypedRefusal(r: ToolText): void {
  expect(r.text).not.toMatch(/unexpected error/);
  expect(r.isError).toBe(true);
  expect(r.text).toMatch(/What to do: /);
}

beforeAll(async () => {
  repo = await createTempRepo({ files: { '.gitignore': 'node_modules/\n', 'src/queue.ts': 'export const q = 1;\n' } });
  await git(repo.dir, ['branch', '-m', 'main', 'master']);
  await git(repo.dir, ['remote', 'add', 'origin', 'https://github.com/Volpestyle/clanky.git']);
  await git(repo.dir, ['update-ref', 'refs/remotes/origin/master', 'HEAD']);
  await git(repo.dir, ['symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/master']);
  session = await connectStdio(repo.dir, [], { ...XDG });
  const made = await call('git_branch_create', { name: 'fix-queue' });
  expect(made.isError).toBe(false);
  worktree = made.structured!['worktree'] as string;
  await fs.writeFile(path.join(worktree, 'src', 'queue.ts'), 'export const q = 2;\n');
}, 120_000);

afterAll(async () => {
  await session?.close();
  await repo?.cleanup();
});

describe('git_branch_create refuses with what to do', () => {
  it.each([
    { name: 'a b' },
    { name: '--output=/tmp/selfscope-x' },
    { name: 'x..y' },
    { name: 'fix-queue' },
    { name: 'fix-queue/sub' },
    { name: 'other', base: 'no-such-branch' },
    { name: 'other', base: '--output=/tmp/selfscope-x' },
    { name: 'other', base: 'HEAD~999' },
    { name: 'other', base: 'master\nx' },
    { name: 'other', base: ' ' },
    { name: 'selfscope/' },
  ])('%j', async (args) => {
    expectTypedRefusal(await call('git_branch_create', args));
    await expect(fs.access('/tmp/selfscope-x')).rejects.toThrow();
  });

  it('a name whose worktree directory another branch took', async () => {
    expectTypedRefusal(await call('git_branch_create', { name: 'fix/queue' }).then(async () => call('git_branch_create', { name: 'fix-queue', reuse: false })));
    expectTypedRefusal(await call('git_branch_create', { name: 'fix.queue' }).then(() => call('git_branch_create', { name: 'fix/queue' })));
  });
});

describe('git_diff refuses with what to do', () => {
  it.each([
    { mode: 'range', base: 'no-such-branch' },
    { mode: 'range', base: 'master', head: 'no-such-branch' },
    { mode: 'range', base: 'master\nx' },
    { mode: 'range', base: 'HEAD~999' },
    { mode: 'range' },
    { mode: 'range', base: '--output=/tmp/selfscope-x' },
    { mode: 'working', paths: ['../outside'] },
    { mode: 'working', paths: ['/etc/passwd'] },
    { mode: 'working', paths: ['a\u0000b'] },
    { mode: 'working', worktree: '/etc' },
    { mode: 'working', worktree: '../..' },
  ])('%j', async (args) => {
    expectTypedRefusal(await call('git_diff', { worktree, ...args }));
  });

  it('takes paths literally: a pathspec magic word narrows nothing and fails nothing', async () => {
    const r = await call('git_diff', { worktree, mode: 'working', paths: [':(glob)src/*'] });
    expect(r.isError).toBe(false);
    expect(r.structured!['total_files']).toBe(0);
    const ok = await call('git_diff', { worktree, mode: 'working', paths: ['src'] });
    expect(ok.structured!['total_files']).toBe(1);
  });
});

describe('git_pr_create refuses with what to do', () => {
  it('a branch with nothing committed over the default branch (master)', async () => {
    const r = await call('git_pr_create', { worktree, title: 'Fix' });
    expectTypedRefusal(r);
    expect(r.text).toMatch(/nothing to propose/);
  });

  it.each([{ base: 'no-such-branch' }, { base: '--output=/tmp/selfscope-x' }, { base: 'master\nx' }, { worktree: '/etc' }, { title: ' ' }])('%j', async (args) => {
    expectTypedRefusal(await call('git_pr_create', { worktree, title: 'Fix', ...args }));
  });

  it('the main checkout (master) itself', async () => {
    expectTypedRefusal(await call('git_pr_create', { worktree: repo.dir, title: 'Fix' }));
  });
});

describe('worktree.dir outside the repository (SELFSCOPE_WORKTREE__DIR)', () => {
  let outsideRepo: TempRepo;
  let outside: string;
  let s: StdioSession;
  beforeAll(async () => {
    outsideRepo = await createTempRepo({ files: { '.gitignore': 'node_modules/\n', 'src/queue.ts': 'export const q = 1;\n' } });
    outside = `${outsideRepo.dir}-worktrees`;
    s = await connectStdio(outsideRepo.dir, [], { ...XDG, SELFSCOPE_WORKTREE__DIR: outside });
  }, 120_000);
  afterAll(async () => {
    await s?.close();
    await outsideRepo?.cleanup();
    await fs.rm(outside, { recursive: true, force: true });
  });

  it('creates the worktree there, and the other git tools accept it', async () => {
    const made = await s.client.callTool({ name: 'git_branch_create', arguments: { name: 'fix-queue' } });
    expect(made.isError).toBeFalsy();
    const wt = (made.structuredContent as { worktree: string }).worktree;
    expect(wt).toBe(path.join(await fs.realpath(outside), 'selfscope-fix-queue'));
    await fs.writeFile(path.join(wt, 'src', 'queue.ts'), 'export const q = 2;\n');
    const status = await s.client.callTool({ name: 'git_status', arguments: { worktree: wt } });
    expect(status.isError).toBeFalsy();
    const diff = await s.client.callTool({ name: 'git_diff', arguments: { worktree: wt, stat_only: true } });
    expect((diff.structuredContent as { total_files: number }).total_files).toBe(1);
  });
});
