import fs from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { recordVerificationRun, type VerificationRun } from '../../../src/core/checks/attestation.js';
import { fitToolTimeout, measuredCheckTimes } from '../../../src/core/checks/check-times.js';
import { runInit } from '../../../src/core/init/init.js';
import { createTempRepo, type TempRepo } from '../../helpers/temp-repo.js';

/** The tool-call timeouts init prints fit the recorded check times, or the longest a check may run. */

const repos: TempRepo[] = [];
afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.cleanup()));
});

function run(id: string, check: 'typecheck' | 'test', durationMs: number, finishedAt: string): VerificationRun {
  return { id, tree: 't', worktree: '/w', check, command: ['x'], reason: 'r', ok: true, exit_code: 0, counts: null, tree_changed: false, started_at: finishedAt, finished_at: finishedAt, duration_ms: durationMs, sandbox: 'bwrap', sandbox_reason: null };
}

describe('tool-call timeouts', () => {
  it('fits twice the longest check and a minute, at least 2 minutes, at most checks.maxTimeoutS and a minute', () => {
    expect(fitToolTimeout(null, 1800)).toEqual({ seconds: 1860, why: 'a check may run 1800 s (checks.maxTimeoutS)' });
    expect(fitToolTimeout({ longestS: 140, check: 'test', runs: 3 }, 1800).seconds).toBe(340);
    expect(fitToolTimeout({ longestS: 10, check: 'typecheck', runs: 1 }, 1800).seconds).toBe(120);
    expect(fitToolTimeout({ longestS: 1000, check: 'test', runs: 1 }, 1800)).toMatchObject({ seconds: 1860, why: expect.stringMatching(/capped/) });
  });

  it('reads nothing and creates nothing where no run was recorded', async () => {
    const repo = await createTempRepo();
    repos.push(repo);
    expect(await measuredCheckTimes(repo.privateDir)).toBeNull();
    expect(await fs.stat(repo.privateDir).catch(() => null)).toBeNull();
  });

  it('prints the Codex tool_timeout_sec and the Claude Code MCP_TOOL_TIMEOUT from the recorded runs', async () => {
    const repo = await createTempRepo({ files: { 'package.json': JSON.stringify({ scripts: { test: 'bun test' } }) } });
    repos.push(repo);
    await recordVerificationRun(repo.privateDir, run('run-a-000001', 'typecheck', 20_000, '2026-01-01T00:00:00.000Z'));
    await recordVerificationRun(repo.privateDir, run('run-a-000002', 'test', 136_400, '2026-01-01T00:01:00.000Z'));
    expect(await measuredCheckTimes(repo.privateDir)).toEqual({ longestS: 137, check: 'test', runs: 1 });
    const result = await runInit({ repo: repo.dir, stateDir: '.selfscope', server: { command: 'node', args: ['/x/main.js', 'serve'] }, dryRun: true, privateDir: repo.privateDir });
    expect(result.toolTimeoutS).toBe(334);
    expect(result.codexBlock).toMatch(/^tool_timeout_sec = 334 +# Codex ends a tool call at 60 s by default; the longest recorded test took 137 s: twice that and a minute$/m);
    expect(result.notes.join('\n')).toMatch(/MCP_TOOL_TIMEOUT=334000 /);
    // Without a measurement: the longest a check may run, and a minute.
    const fresh = await runInit({ repo: repo.dir, stateDir: '.selfscope', server: { command: 'node', args: ['/x/main.js', 'serve'] }, dryRun: true, checkMaxTimeoutS: 900 });
    expect([fresh.toolTimeoutS, fresh.notes.join('\n')]).toEqual([960, expect.stringContaining('MCP_TOOL_TIMEOUT=960000 ')]);
  });
});
