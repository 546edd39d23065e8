import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBotFixture, LOG_END_OFFSET_MS } from '../../src/cli/demo/bot-fixture.js';
import { appendAudit, readAudit } from '../../src/core/audit/audit-log.js';
import { launchSession } from '../../src/core/session/launch.js';
import type { SessionEvent } from '../../src/core/session/launcher.js';
import { CLI, PACKAGE_ROOT } from '../helpers/mcp-client.js';

const STANDIN = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'agent-standin.mjs');

describe('the session launcher with stand-in claude and codex', () => {
  let dir: string;
  let bin: string;
  let env: Record<string, string>;
  const state = () => path.join(dir, '.selfscope');
  const worktrees = async () => (await execa('git', ['worktree', 'list'], { cwd: dir })).stdout.split('\n').length;

  beforeAll(async () => {
    dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-session-')));
    await createBotFixture(dir, path.join(PACKAGE_ROOT, 'node_modules'), Date.now() + LOG_END_OFFSET_MS);
    bin = path.join(dir, '..', `${path.basename(dir)}-bin`);
    await fs.mkdir(bin);
    for (const agent of ['claude', 'codex']) {
      await fs.writeFile(path.join(bin, agent), `#!/bin/sh\nexec "${process.execPath}" "${STANDIN}" ${agent} "$@"\n`, { mode: 0o755 });
    }
    // The agent's environment: PATH with the stand-ins first.
    env = { PATH: `${bin}${path.delimiter}${process.env['PATH']}`, HOME: process.env['HOME'] ?? os.homedir() };
  }, 60_000);

  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(bin, { recursive: true, force: true });
  });

  it('starts claude in a new worktree with selfscope as its MCP server, and records the session', async () => {
    const events: SessionEvent[] = [];
    const result = await launchSession({ repo: dir, env: env, agent: 'claude-code', task: 'that music skip thing is broken again', requestedBy: '1180000000000000010', onEvent: (e) => events.push(e) });
    expect(result.outcome).toBe('completed');
    expect(result.summary).toMatch(/^[1-9]\d* anomalies; same worktree; task: A user reported a problem with the bot, in their words: "that music skip thing is broken again"/);
    expect(result.branch).toMatch(/^selfscope\/investigate-that-music-skip-thing-is-broken-again-[0-9a-f]{6}$/);
    expect(result.worktree.startsWith(path.join(state(), 'worktrees'))).toBe(true);
    expect(result.cost_usd).toBe(0.42);
    expect(events.filter((e) => e.agent_event?.type === 'tool_call').map((e) => e.agent_event?.tool)).toEqual(['mcp__selfscope__detect_anomalies', 'mcp__selfscope__git_branch_create']);
    expect(events.at(-1)?.type).toBe('session_finished');
    const audit = (await readAudit(state())).filter((l) => l['kind'] === 'selfscope_session');
    expect(audit.map((l) => l['event'])).toEqual(['session_started', 'session_finished']);
    expect(audit[1]!['usd_cost']).toBe(0.42);
    expect(audit[1]!['user_id']).toBe('1180000000000000010');
    // The generated configuration is private to the session.
    const configFile = (await fs.readdir(path.join(state(), 'sessions'))).map((s) => path.join(state(), 'sessions', s, 'mcp.json'))[0]!;
    expect((await fs.stat(configFile)).mode & 0o777).toBe(0o600);
  }, 60_000);

  it('starts codex through selfscope session on the fix_anomaly playbook', async () => {
    const anomaly = (await execa(process.execPath, [CLI, 'anomalies', '--json'], { cwd: dir })).stdout;
    const id = (JSON.parse(anomaly) as { anomalies: Array<{ id: string }> }).anomalies[0]!.id;
    const run = await execa(process.execPath, [CLI, 'session', '--agent', 'codex', '--anomaly', id, '--json'], { cwd: dir, env: env, extendEnv: false, reject: false });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const result = lines.at(-1)!;
    expect(result['type']).toBe('result');
    expect(result['outcome']).toBe('completed');
    expect(result['summary']).toMatch(new RegExp(`same worktree; task: Fix the anomaly ${id} `));
    expect(result['branch']).toBe(`selfscope/fix-${id}-${String(result['branch']).slice(-6)}`);
    expect(lines.some((l) => (l['agent_event'] as { tool?: string } | undefined)?.tool === 'git_branch_create')).toBe(true);
  }, 60_000);

  it('stops an agent at the timeout', async () => {
    const result = await launchSession({ repo: dir, env, agent: 'claude-code', task: 'HANG please', timeoutS: 2 });
    expect(result.outcome).toBe('timeout');
    expect(result.summary).toBe('The agent was stopped after 2 s.');
  }, 30_000);

  it('refuses in dev mode, over budget, and without the agent, leaving no branch behind', async () => {
    const before = await worktrees();
    await fs.writeFile(path.join(state(), 'paused'), '');
    await expect(launchSession({ repo: dir, env, agent: 'claude-code', task: 'x' })).rejects.toThrow(/Dev mode is on/);
    await fs.rm(path.join(state(), 'paused'));

    await expect(launchSession({ repo: dir, env: { ...env, PATH: path.dirname(process.execPath) }, agent: 'codex', task: 'x' })).rejects.toMatchObject({ message: expect.stringMatching(/"codex" was not found on PATH/), hint: expect.stringMatching(/npm i -g @openai\/codex/) });

    // Three sessions ran above; two more launches reach the default budget of five a day.
    for (let i = 0; i < 2; i++) await appendAudit(state(), { kind: 'selfscope_session', event: 'session_started', tool: 'selfscope session', outcome: 'started' });
    await expect(launchSession({ repo: dir, env, agent: 'claude-code', task: 'x' })).rejects.toThrow(/budget for self-improvement sessions is spent: 5 of 5 launches/);
    // A launch the watcher's hook already counted still fits: it gets past the budget to the PATH check.
    const cli = await execa(process.execPath, [CLI, 'session', '--agent', 'claude-code', '--task', 'y'], { cwd: dir, env: { ...env, PATH: path.dirname(process.execPath), SELFSCOPE_HOOK_LAUNCH: 'an-000000000001' }, extendEnv: false, reject: false });
    expect(cli.exitCode).toBe(1);
    expect(cli.stderr).toMatch(/"claude" was not found on PATH/);
    expect(await worktrees()).toBe(before);
    const refusals = (await readAudit(state())).filter((l) => l['event'] === 'session_refused').map((l) => (l['metadata'] as { outcome: string }).outcome);
    expect(refusals).toEqual(['paused', 'agent_missing', 'budget', 'agent_missing']);
  }, 30_000);
});
