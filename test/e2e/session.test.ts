import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBotFixture, LOG_END_OFFSET_MS } from '../../src/cli/demo/bot-fixture.js';
import { loadConfig } from '../../src/config/load.js';
import { appendAudit, readAudit } from '../../src/core/audit/audit-log.js';
import { launchSession } from '../../src/core/session/launch.js';
import type { SessionEvent } from '../../src/core/session/launcher.js';
import { CLI, PACKAGE_ROOT } from '../helpers/mcp-client.js';

const STANDIN = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'agent-standin.mjs');
const TOKEN = 'ghp_sessiontokensessiontokensessiontoken1';

interface StandinRecord {
  agent: string;
  args: string[];
  env_keys: string[];
  server_env: Record<string, string>;
  settings_file?: string;
  settings_mode?: number;
  settings?: { sandbox: Record<string, unknown> & { filesystem: { denyRead: string[]; denyWrite: string[] } }; permissions: { deny: string[]; disableBypassPermissionsMode?: string } };
  sandbox?: string;
  overrides?: Record<string, string>;
  merge?: { isError: boolean; structured: { merged: boolean; status?: string } | null; text: string };
}

describe('the session launcher with stand-in claude and codex', () => {
  let dir: string;
  let bin: string;
  let records: string;
  let privateDir: string;
  let env: Record<string, string>;
  let github: http.Server;
  /** What the stand-in GitHub API was asked, with the credentials it was asked with. */
  const githubRequests: Array<{ method: string; url: string; authorization: string | null }> = [];
  const state = () => path.join(dir, '.selfscope');
  const worktrees = async () => (await execa('git', ['worktree', 'list'], { cwd: dir })).stdout.split('\n').length;
  const recordOf = async (worktree: string) => JSON.parse(await fs.readFile(path.join(records, `${path.basename(worktree)}.json`), 'utf8')) as StandinRecord;
  /** The session completed; else the message shows what the stand-in recorded (its error, say). */
  const expectCompleted = async (result: { outcome: string; worktree: string }) =>
    expect(result.outcome, await fs.readFile(path.join(records, `${path.basename(result.worktree)}.json`), 'utf8').catch(() => 'no record')).toBe('completed');

  beforeAll(async () => {
    dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-session-')));
    await createBotFixture(dir, path.join(PACKAGE_ROOT, 'node_modules'), Date.now() + LOG_END_OFFSET_MS);
    bin = path.join(dir, '..', `${path.basename(dir)}-bin`);
    records = path.join(dir, '..', `${path.basename(dir)}-records`);
    await fs.mkdir(bin);
    await fs.mkdir(records);
    for (const agent of ['claude', 'codex']) {
      await fs.writeFile(path.join(bin, agent), `#!/bin/sh\nSTANDIN_RECORD_DIR="${records}" exec "${process.execPath}" "${STANDIN}" ${agent} "$@"\n`, { mode: 0o755 });
    }
    // GitHub for the servers the stand-ins start (other processes: msw cannot reach them). It
    // knows one pull request, whose head was never verified here; anything else is a 404.
    github = http.createServer((req, res) => {
      githubRequests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization ?? null });
      res.setHeader('content-type', 'application/json');
      if (req.method === 'GET' && req.url === '/repos/volpe/clanky/pulls/7') {
        res.end(JSON.stringify({ number: 7, state: 'open', merged: false, title: 'A fix', html_url: 'https://github.com/volpe/clanky/pull/7', head: { sha: '0'.repeat(40), ref: 'selfscope/x' }, base: { ref: 'main' } }));
      } else {
        res.statusCode = 404;
        res.end(JSON.stringify({ message: 'Not Found' }));
      }
    });
    await new Promise<void>((resolve) => github.listen(0, '127.0.0.1', resolve));
    const apiUrl = `http://127.0.0.1:${(github.address() as AddressInfo).port}`;
    await fs.writeFile(path.join(dir, 'selfscope.config.json'), JSON.stringify({ github: { owner: 'volpe', repo: 'clanky', apiUrl }, watch: { dailyBudget: { launches: 6 } } }));
    // The bot's environment: PATH with the stand-ins first, its private state, and the GitHub
    // token, which selfscope's server gets and the agent must not.
    env = { PATH: `${bin}${path.delimiter}${process.env['PATH']}`, HOME: process.env['HOME'] ?? os.homedir(), XDG_STATE_HOME: process.env['XDG_STATE_HOME']!, GITHUB_TOKEN: TOKEN, GH_TOKEN: TOKEN };
    privateDir = (await loadConfig({ cwd: dir, env })).privateDirPath;
  }, 60_000);

  afterAll(async () => {
    await new Promise<void>((resolve) => github.close(() => resolve()));
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(bin, { recursive: true, force: true });
    await fs.rm(records, { recursive: true, force: true });
    await fs.rm(privateDir, { recursive: true, force: true });
  });

  it('starts claude in a new worktree with selfscope as its MCP server, and records the session', async () => {
    const events: SessionEvent[] = [];
    const result = await launchSession({ repo: dir, env: env, agent: 'claude-code', task: 'that music skip thing is broken again', requestedBy: '1180000000000000010', onEvent: (e) => events.push(e) });
    await expectCompleted(result);
    expect(result.summary).toMatch(/^[1-9]\d* anomalies; same worktree; task: A user reported a problem with the bot, in their words: "that music skip thing is broken again"/);
    expect(result.branch).toMatch(/^selfscope\/investigate-that-music-skip-thing-is-broken-again-[0-9a-f]{6}$/);
    expect(result.worktree.startsWith(path.join(state(), 'worktrees'))).toBe(true);
    // Prepared like a git_branch_create worktree: the checkout's dependencies are there.
    expect((await fs.readdir(path.join(result.worktree, 'node_modules'))).length).toBeGreaterThan(0);
    expect(result.cost_usd).toBe(0.42);
    expect(events.filter((e) => e.agent_event?.type === 'tool_call').map((e) => e.agent_event?.tool)).toEqual(['mcp__selfscope__detect_anomalies', 'mcp__selfscope__git_branch_create', 'mcp__selfscope__git_pr_merge']);
    expect(events.at(-1)?.type).toBe('session_finished');
    const audit = (await readAudit(privateDir)).filter((l) => l['kind'] === 'selfscope_session');
    expect(audit.map((l) => l['event'])).toEqual(['session_started', 'session_finished']);
    expect(audit[1]!['usd_cost']).toBe(0.42);
    expect(audit[1]!['user_id']).toBe('1180000000000000010');
    // The generated configuration is private to the session.
    const sessionDir = (await fs.readdir(path.join(state(), 'sessions'))).map((s) => path.join(state(), 'sessions', s))[0]!;
    expect((await fs.stat(path.join(sessionDir, 'mcp.json'))).mode & 0o777).toBe(0o600);
  }, 60_000);

  it('gives claude a 0600 settings file that turns its sandbox on and hides selfscope\'s private state', async () => {
    const result = await launchSession({ repo: dir, env, agent: 'claude-code', task: 'look at the queue' });
    await expectCompleted(result);
    const r = await recordOf(result.worktree);
    expect(r.args.slice(r.args.indexOf('--settings'), r.args.indexOf('--settings') + 2)).toEqual(['--settings', r.settings_file]);
    expect(r.settings_file!.startsWith(path.join(state(), 'sessions'))).toBe(true);
    expect(r.settings_mode).toBe(0o600);
    expect(r.settings!.sandbox).toMatchObject({ enabled: true, failIfUnavailable: true, allowUnsandboxedCommands: false });
    expect(r.settings!.permissions.disableBypassPermissionsMode).toBe('disable');
    const deny = r.settings!.permissions.deny;
    for (const hidden of [privateDir, path.join(state(), 'sessions')]) {
      for (const rule of [`Read(/${hidden}/**)`, `Edit(/${hidden}/**)`]) expect(deny).toContain(rule);
      expect(r.settings!.sandbox.filesystem.denyRead).toContain(`/${hidden}`);
    }
    // The first session's worktree is another worktree: hidden too. Its own is not.
    const others = (await fs.readdir(path.join(state(), 'worktrees'))).map((w) => path.join(state(), 'worktrees', w)).filter((w) => w !== result.worktree);
    expect(others.length).toBeGreaterThan(0);
    for (const other of others) expect(deny).toContain(`Read(/${other}/**)`);
    expect(deny.some((rule) => rule.includes(result.worktree) && rule.startsWith('Read('))).toBe(false);
    // The main checkout's git configuration and hooks cannot be written, by Edit or a command.
    expect(deny).toContain(`Edit(/${path.join(dir, '.git')}/**)`);
    expect(r.settings!.sandbox.filesystem.denyWrite).toContain(`/${path.join(dir, '.git')}`);
    expect(r.settings!.sandbox.filesystem.denyWrite).toContain(`/${path.join(result.worktree, '.git')}`);
  }, 60_000);

  it("keeps the GitHub token out of the agent's environment, while the server it starts can use it", async () => {
    const before = githubRequests.length;
    const result = await launchSession({ repo: dir, env, agent: 'claude-code', task: 'check the token' });
    await expectCompleted(result);
    const r = await recordOf(result.worktree);
    expect(r.env_keys).not.toContain('GITHUB_TOKEN');
    expect(r.env_keys).not.toContain('GH_TOKEN');
    // Claude Code waits for a whole test run (checks.maxTimeoutS, 1800 s, plus a minute).
    expect(r.env_keys).toContain('MCP_TOOL_TIMEOUT');
    // The server learns where the token is, in the private directory, and the file is gone now.
    const tokenFile = r.server_env['SELFSCOPE_GITHUB__TOKEN_FILE']!;
    expect(tokenFile.startsWith(`${privateDir}${path.sep}`)).toBe(true);
    await expect(fs.access(tokenFile)).rejects.toThrow();
    expect(r.server_env['SELFSCOPE_PRIVATE_DIR']).toBe(privateDir);
    // It used it: git_pr_merge read the pull request with the token, and refused (an unverified head).
    expect(githubRequests.slice(before)).toEqual([{ method: 'GET', url: '/repos/volpe/clanky/pulls/7', authorization: `token ${TOKEN}` }]);
    expect(r.merge).toMatchObject({ isError: false, structured: { merged: false, status: 'not_verified' } });
  }, 60_000);

  it('starts codex through selfscope session on the fix_anomaly playbook, sandboxed without network', async () => {
    const anomaly = (await execa(process.execPath, [CLI, 'anomalies', '--json'], { cwd: dir, env: { ...process.env, XDG_STATE_HOME: env['XDG_STATE_HOME'] } })).stdout;
    const id = (JSON.parse(anomaly) as { anomalies: Array<{ id: string }> }).anomalies[0]!.id;
    const before = githubRequests.length;
    const mergesBefore = (await readAudit(privateDir)).filter((l) => l['event'] === 'git_pr_merge').length;
    const run = await execa(process.execPath, [CLI, 'session', '--agent', 'codex', '--anomaly', id, '--json'], { cwd: dir, env: env, extendEnv: false, reject: false });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const result = lines.at(-1)!;
    expect(result['type']).toBe('result');
    await expectCompleted({ outcome: String(result['outcome']), worktree: String(result['worktree']) });
    expect(result['summary']).toMatch(new RegExp(`same worktree; task: Fix the anomaly ${id} `));
    expect(result['branch']).toBe(`selfscope/fix-${id}-${String(result['branch']).slice(-6)}`);
    expect(lines.some((l) => (l['agent_event'] as { tool?: string } | undefined)?.tool === 'git_branch_create')).toBe(true);
    const r = await recordOf(String(result['worktree']));
    expect(r.sandbox).toBe('workspace-write');
    expect(r.overrides!['sandbox_workspace_write.network_access']).toBe('false');
    expect(r.env_keys).not.toContain('GITHUB_TOKEN');
    expect(r.env_keys).not.toContain('GH_TOKEN');
    // Codex passes its server only a few variables: the private directory is named outright.
    expect(r.server_env['SELFSCOPE_PRIVATE_DIR']).toBe(privateDir);
    expect(githubRequests.slice(before)).toEqual([{ method: 'GET', url: '/repos/volpe/clanky/pulls/7', authorization: `token ${TOKEN}` }]);
    expect(r.merge).toMatchObject({ structured: { status: 'not_verified' } });
    // Its server wrote to the same private state as the launcher.
    expect((await readAudit(privateDir)).filter((l) => l['event'] === 'git_pr_merge').length).toBe(mergesBefore + 1);
  }, 60_000);

  it('stops an agent at the timeout', async () => {
    const result = await launchSession({ repo: dir, env, agent: 'claude-code', task: 'HANG please', timeoutS: 2 });
    expect(result.outcome).toBe('timeout');
    expect(result.summary).toBe('The agent was stopped after 2 s.');
    await expect(fs.readdir(path.join(privateDir, 'sessions'))).resolves.toEqual([]);
  }, 30_000);

  it('refuses in dev mode, over budget, and without the agent, leaving no branch behind', async () => {
    const before = await worktrees();
    await fs.writeFile(path.join(state(), 'paused'), '');
    await expect(launchSession({ repo: dir, env, agent: 'claude-code', task: 'x' })).rejects.toThrow(/Dev mode is on/);
    await fs.rm(path.join(state(), 'paused'));

    await expect(launchSession({ repo: dir, env: { ...env, PATH: path.dirname(process.execPath) }, agent: 'codex', task: 'x' })).rejects.toMatchObject({ message: expect.stringMatching(/"codex" was not found on PATH/), hint: expect.stringMatching(/npm i -g @openai\/codex/) });

    // Five sessions ran above; one more launch reaches this repository's budget of six a day.
    await appendAudit(privateDir, { kind: 'selfscope_session', event: 'session_started', tool: 'selfscope session', outcome: 'started' });
    await expect(launchSession({ repo: dir, env, agent: 'claude-code', task: 'x' })).rejects.toThrow(/budget for self-improvement sessions is spent: 6 of 6 launches/);
    // A launch the watcher's hook already counted still fits: it gets past the budget to the PATH check.
    const cli = await execa(process.execPath, [CLI, 'session', '--agent', 'claude-code', '--task', 'y'], { cwd: dir, env: { ...env, PATH: path.dirname(process.execPath), SELFSCOPE_HOOK_LAUNCH: 'an-000000000001' }, extendEnv: false, reject: false });
    expect(cli.exitCode).toBe(1);
    expect(cli.stderr).toMatch(/"claude" was not found on PATH/);
    expect(await worktrees()).toBe(before);
    const refusals = (await readAudit(privateDir)).filter((l) => l['event'] === 'session_refused').map((l) => (l['metadata'] as { outcome: string }).outcome);
    expect(refusals).toEqual(['paused', 'agent_missing', 'budget', 'agent_missing']);
  }, 30_000);
});
