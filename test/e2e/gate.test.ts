import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStdio, type StdioSession } from '../helpers/mcp-client.js';
import { fixtureProject, TSCONFIG } from '../helpers/fixture-project.js';
import { git, type TempRepo } from '../helpers/temp-repo.js';

/**
 * checks.gate "no_new_failures" through the built server: the base's suite is red (a test
 * that needs the network), a fix on a branch adds no failure; run_tests compares with the
 * base and marks each failure, every failure is reachable paged, git_commit lets the tree
 * through and says on what grounds, selfscope_status says which gate applies.
 */

let repo: TempRepo;
let session: StdioSession;
const timeout = 180_000;

type Structured = Record<string, unknown>;

beforeAll(async () => {
  repo = await fixtureProject({
    'selfscope.config.json': JSON.stringify({ checks: { gate: 'no_new_failures' } }),
    'package.json': JSON.stringify({ name: 'bot', type: 'module', scripts: { test: 'node --test', typecheck: 'tsc --noEmit -p .' } }),
    'tsconfig.json': TSCONFIG,
    'src/a.ts': 'export const a: number = 1;\n',
    'test/a.test.mjs': `import test from 'node:test';\nimport assert from 'node:assert';\ntest('works', () => assert.equal(1, 1));\nfor (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) test(\`fetches page \${n}\`, () => assert.fail('ECONNREFUSED'));\n`,
  });
  await git(repo.dir, ['branch', '-m', 'main', 'master']);
  session = await connectStdio(repo.dir);
}, timeout);

afterAll(async () => {
  await session?.close();
  await repo?.cleanup();
});

const call = async (name: string, args: Record<string, unknown>) => {
  const r = await session.client.callTool({ name, arguments: args }, undefined, { timeout });
  return { isError: r.isError === true, structured: r.structuredContent as Structured, text: (r.content as Array<{ text: string }>).map((c) => c.text).join('\n') };
};

describe('checks.gate "no_new_failures" over MCP', () => {
  it('compares with the base, marks failures, pages them, commits, and says which gate applies', async () => {
    const made = await call('git_branch_create', { name: 'fix-a' });
    const worktree = made.structured['worktree'] as string;
    await fs.writeFile(path.join(worktree, 'src', 'a.ts'), 'export const a: number = 2;\n');
    expect((await call('run_typecheck', { worktree })).structured['ok']).toBe(true);

    const t = await call('run_tests', { worktree });
    expect(t.isError).toBe(false);
    const s = t.structured as { ok: boolean; gate: string; failures: Array<{ mark?: string; id: string }>; failures_total: number; failures_uri: string; comparison: { counts: Record<string, number> } };
    expect(s.ok).toBe(false);
    expect(s.gate).toBe('no_new_failures');
    expect(s.comparison.counts).toEqual({ new: 0, pre_existing: 12, flaky: 0, fixed: 0, missing: 0 });
    expect(s.failures_total).toBe(12);
    expect(s.failures.every((f) => f.mark === 'pre_existing')).toBe(true);
    expect(t.text).toMatch(/No new failures: git_commit accepts this tree/);

    // Every failure, 10 a page.
    const first = JSON.parse(((await session.client.readResource({ uri: s.failures_uri })).contents[0] as { text: string }).text) as { total: number; failures: unknown[]; next_page: string };
    expect(first.total).toBe(12);
    expect(first.failures).toHaveLength(10);
    const second = JSON.parse(((await session.client.readResource({ uri: first.next_page })).contents[0] as { text: string }).text) as { failures: Array<{ mark: string }>; next_page: string | null };
    expect(second.failures.map((f) => f.mark)).toEqual(['pre_existing', 'pre_existing']);
    expect(second.next_page).toBeNull();

    const status = await call('selfscope_status', {});
    const gate = (status.structured['verification'] as { gate: { mode: string; reason: string; base: { branch: string; run: string | null; failing: number | null } } }).gate;
    expect(gate.mode).toBe('no_new_failures');
    expect(gate.base).toMatchObject({ branch: 'master', failing: 12 });

    const committed = await call('git_commit', { worktree, message: 'Set a to 2' });
    expect(committed.isError).toBe(false);
    expect(committed.structured['gate']).toMatchObject({ mode: 'no_new_failures', comparison: { counts: { new: 0, pre_existing: 12, flaky: 0, fixed: 0, missing: 0 } } });
    expect(committed.text).toMatch(/12 pre-existing failure/);
  }, timeout);
});
