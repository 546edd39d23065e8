import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStdio, type StdioSession } from '../helpers/mcp-client.js';
import { fixtureProject, TSCONFIG, VITEST_PKG } from '../helpers/fixture-project.js';
import type { TempRepo } from '../helpers/temp-repo.js';

const MARKER = `selfscope-cancel-${process.pid}-${Date.now()}`;
let repo: TempRepo;
let session: StdioSession;

beforeAll(async () => {
  repo = await fixtureProject({
    'package.json': VITEST_PKG,
    'tsconfig.json': TSCONFIG,
    'src/a.ts': 'export const a: number = 1;\n',
    'test/a.test.js': `import { it, expect } from 'vitest';\nit('works', () => expect(1).toBe(1));\n`,
  });
  session = await connectStdio(repo.dir);
});
afterAll(async () => {
  await session?.close();
  await repo?.cleanup();
});

describe('checks over MCP', () => {
  it('runs typecheck and tests, and selfscope_status shows the tree verified', async () => {
    const tc = await session.client.callTool({ name: 'run_typecheck', arguments: {} });
    expect(tc.isError).toBeFalsy();
    expect((tc.structuredContent as { ok: boolean }).ok).toBe(true);
    const progress: number[] = [];
    const t = await session.client.callTool({ name: 'run_tests', arguments: {} }, undefined, { onprogress: (p) => progress.push(p.progress) });
    const s = t.structuredContent as { ok: boolean; counts: { passed: number }; tree: string; output_uri: string };
    expect(s.ok).toBe(true);
    expect(s.counts.passed).toBe(1);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    const status = await session.client.callTool({ name: 'selfscope_status', arguments: {} });
    const v = (status.structuredContent as { verification: { verified: boolean; tree: string } }).verification;
    expect(v).toMatchObject({ verified: true, tree: s.tree });
    const output = await session.client.readResource({ uri: s.output_uri });
    expect((output.contents[0] as { text: string }).text).toMatch(/1 passed/);
  });

  it('refuses a worktree outside the repository', async () => {
    const r = await session.client.callTool({ name: 'run_tests', arguments: { worktree: '/etc' } });
    expect(r.isError).toBe(true);
    expect((r.content as Array<{ text: string }>)[0]!.text).toMatch(/not this repository/);
    const up = await session.client.callTool({ name: 'run_tests', arguments: { worktree: '../..' } });
    expect(up.isError).toBe(true);
  });

});

describe('cancellation', () => {
  it('kills the whole run when the client cancels, leaving no orphan', async () => {
    const hangRepo = await fixtureProject({
      'selfscope.config.json': JSON.stringify({ checks: { test: ['node', 'hang.mjs'] } }),
      'hang.mjs': `import { spawn } from 'node:child_process';\nspawn('sh', ['-c', 'sleep 1000; echo ${MARKER}'], { stdio: 'inherit' });\nsetInterval(() => {}, 1000);\n`,
    });
    const hang = await connectStdio(hangRepo.dir);
    const ps = async () => (await execa('ps', ['-eo', 'args'])).stdout.includes(MARKER);
    try {
      const controller = new AbortController();
      const call = hang.client.callTool({ name: 'run_tests', arguments: { timeout_s: 120 } }, undefined, { signal: controller.signal, timeout: 120_000 });
      call.catch(() => {});
      let deadline = Date.now() + 15_000;
      while (!(await ps()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await ps()).toBe(true);
      controller.abort();
      await expect(call).rejects.toThrow();
      deadline = Date.now() + 10_000;
      while ((await ps()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await ps()).toBe(false);
      // The server is still there and answers.
      const status = await hang.client.callTool({ name: 'selfscope_status', arguments: {} });
      expect(status.isError).toBeFalsy();
    } finally {
      await hang.close();
      await hangRepo.cleanup();
    }
  });
});
