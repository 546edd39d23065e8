import fs from 'node:fs/promises';
import path from 'node:path';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStdio, type StdioSession } from '../helpers/mcp-client.js';
import { fixtureProject, TSCONFIG } from '../helpers/fixture-project.js';
import type { TempRepo } from '../helpers/temp-repo.js';

/**
 * Checks that outlast a client's tool-call timeout, over stdio with the SDK client: a
 * client with MCP tasks gets the result through the task API; a client without them
 * returns early with wait_s and reads the finished run from selfscope://runs/{id}.
 *
 * The fixture's test blocks until the test writes `ignored/go` (ignored by git, so the
 * tree does not change): a run cannot end before the test lets it, whatever the timing.
 */

let repo: TempRepo;
let session: StdioSession;
const go = () => path.join(repo.dir, 'ignored', 'go');

beforeAll(async () => {
  repo = await fixtureProject({
    'package.json': JSON.stringify({ name: 'fixture', type: 'module', scripts: { test: 'vitest run', typecheck: 'tsc --noEmit -p .' } }),
    'tsconfig.json': TSCONFIG,
    'src/a.ts': 'export const a: number = 1;\n',
    'ignored/.keep': '',
    'test/blocked.test.js': [
      `import { existsSync } from 'node:fs';`,
      `import { it, expect } from 'vitest';`,
      `it('waits to be let go', async () => {`,
      `  while (!existsSync('ignored/go')) await new Promise((r) => setTimeout(r, 50));`,
      `  expect(1).toBe(1);`,
      `}, 300_000);`,
      '',
    ].join('\n'),
  });
  await fs.mkdir(path.join(repo.dir, 'ignored'), { recursive: true });
  session = await connectStdio(repo.dir);
});
afterAll(async () => {
  await session?.close();
  await repo?.cleanup();
});

async function readRun(uri: string): Promise<string> {
  const r = await session.client.readResource({ uri });
  return (r.contents[0] as { text: string }).text;
}

describe('long checks', () => {
  it('offers run_tests and run_typecheck as optional tasks, and says so in its capabilities', async () => {
    const { tools } = await session.client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect(byName.get('run_tests')?.execution?.taskSupport).toBe('optional');
    expect(byName.get('run_typecheck')?.execution?.taskSupport).toBe('optional');
    expect(byName.get('git_status')?.execution?.taskSupport ?? 'forbidden').toBe('forbidden');
    expect(session.client.getServerCapabilities()?.tasks?.requests?.tools?.call).toBeDefined();
  });

  it('without tasks: wait_s returns the run id while the run goes on, and the resource then shows the finished result', async () => {
    await fs.rm(go(), { force: true });
    const early = await session.client.callTool({ name: 'run_tests', arguments: { wait_s: 1 } }, undefined, { timeout: 120_000 });
    expect(early.isError).toBeFalsy();
    const s = early.structuredContent as { id: string; ok: boolean; not_ok_reason: string; output_uri: string; recorded: boolean };
    expect(s.ok).toBe(false);
    expect(s.not_ok_reason).toMatch(/^still running/);
    expect(s.output_uri).toBe(`selfscope://runs/${s.id}`);
    expect(s.not_ok_reason).toContain(s.output_uri);
    expect(await readRun(s.output_uri)).toMatch(/status running/);

    await fs.writeFile(go(), '');
    let text = '';
    const deadline = Date.now() + 120_000;
    while (!/status finished/.test(text) && Date.now() < deadline) {
      text = await readRun(s.output_uri);
      if (!/status finished/.test(text)) await new Promise((r) => setTimeout(r, 250));
    }
    expect(text).toMatch(/status finished, PASSED/);
    expect(text).toMatch(/tests: 1 passed, 0 failed/);
    // Recorded as a foreground run is.
    expect(text).toMatch(/Recorded: tests passed on this tree/);
    expect(text).toMatch(/1 passed/);
  }, 180_000);

  it('with tasks: the call returns a task at once, and the final result comes through the task API', async () => {
    await fs.rm(go(), { force: true });
    const stream = session.client.experimental.tasks.callToolStream({ name: 'run_tests', arguments: {} }, CallToolResultSchema, { task: { ttl: 600_000 }, timeout: 120_000 });
    let taskId: string | null = null;
    let result: CallToolResult | null = null;
    for await (const message of stream) {
      if (message.type === 'taskCreated') {
        taskId = message.task.taskId;
        // The run cannot have ended: its test waits for the file written only now.
        expect((await session.client.experimental.tasks.getTask(taskId)).status).toBe('working');
        await fs.writeFile(go(), '');
      } else if (message.type === 'result') {
        result = message.result as CallToolResult;
      } else if (message.type === 'error') {
        throw message.error;
      }
    }
    expect(taskId).not.toBeNull();
    expect(result?.isError).toBeFalsy();
    const s = result!.structuredContent as { ok: boolean; counts: { passed: number }; recorded: boolean };
    expect([s.ok, s.counts.passed, s.recorded]).toEqual([true, 1, true]);
    expect((await session.client.experimental.tasks.getTask(taskId!)).status).toBe('completed');
  }, 180_000);

  it('with tasks: tasks/cancel stops the run', async () => {
    await fs.rm(go(), { force: true });
    const stream = session.client.experimental.tasks.callToolStream({ name: 'run_tests', arguments: {} }, CallToolResultSchema, { task: { ttl: 600_000 }, timeout: 120_000 });
    const first = await stream.next();
    expect(first.value?.type).toBe('taskCreated');
    const taskId = (first.value as { task: { taskId: string } }).task.taskId;
    await stream.return(undefined);
    const cancelled = await session.client.experimental.tasks.cancelTask(taskId);
    expect(cancelled.status).toBe('cancelled');
    // Runs in one worktree go one at a time: a typecheck ends only if the blocked test run was stopped.
    const tc = await session.client.callTool({ name: 'run_typecheck', arguments: {} }, undefined, { timeout: 120_000 });
    expect((tc.structuredContent as { ok: boolean }).ok).toBe(true);
    expect(await fs.stat(go()).catch(() => null)).toBeNull();
  }, 180_000);
});
