import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ResultPromise } from 'execa';
import { ConfigurationError, PolicyError, UserInputError } from '../errors.js';
import { fixAnomalyPlaybook, investigatePlaybook } from '../playbooks/playbooks.js';
import { sanitizeUntrusted } from '../text/bounded.js';
import { pauseFile } from './budget.js';
import { AGENT_BINARY, agentCommand, claudeMcpConfig, claudeSettings, parseAgentEvent, type AgentEvent, type AgentKind, type McpServerLaunch, type SandboxPaths } from './agent-command.js';

export interface SessionEvent {
  at: string;
  session_id: string;
  type: 'session_started' | 'agent_event' | 'session_finished';
  agent_event?: AgentEvent;
  detail?: string;
}

export interface LaunchSessionOptions {
  agent: AgentKind;
  /** The task in the requester's words ("that music skip thing is broken again"). */
  task: string;
  /** The anomaly to fix: the task becomes the fix_anomaly playbook. */
  anomalyId?: string;
  timeoutS?: number;
  /** Who asked (a bot user id), for the audit log. */
  requestedBy?: string;
  onEvent?: (event: SessionEvent) => void;
  signal?: AbortSignal;
  /** Extra agent arguments (model, permission mode...). */
  agentArgs?: string[];
  /** The anomaly id when the watcher's hook started this session (its launch is counted already). */
  hookLaunch?: string;
}

export type SessionOutcome = 'completed' | 'failed' | 'timeout' | 'cancelled';

export interface LaunchSessionResult {
  session_id: string;
  branch: string;
  worktree: string;
  pr: { url: string | null; number: number | null; local_proposal: string | null } | null;
  summary: string;
  cost_usd: number | null;
  outcome: SessionOutcome;
  duration_ms: number;
  exit_code: number | null;
}

/** What the launcher needs from the rest of selfscope; passed in so the launcher stays testable. */
export interface SessionDeps {
  repo: string;
  stateDirPath: string;
  /** selfscope's private state: hidden from the agent; the token file lives here while the session runs. */
  privateDirPath: string;
  /** Where branch worktrees live (worktree.dir, else <stateDir>/worktrees): the agent sees only its own. */
  worktreesRoot(): Promise<string>;
  /** Dev mode: while true, no session starts. */
  isPaused(): Promise<boolean>;
  /** Refuses (throws PolicyError) when today's launches or dollars are spent. */
  checkBudget(alreadyCounted: boolean): Promise<void>;
  createWorktree(name: string): Promise<{ branch: string; worktree: string }>;
  /** How the agent starts selfscope: the built CLI, serving `repo`. */
  server: McpServerLaunch;
  /** How long the agent lets one selfscope tool call run: a full test run can take many minutes. */
  toolTimeoutS: number;
  audit(event: string, outcome: string, metadata: Record<string, unknown>): Promise<void>;
  /** The PR (or local proposal) opened from `branch`, if any, read after the session. */
  findPullRequest(branch: string): Promise<LaunchSessionResult['pr']>;
  /** Environment for the agent process (its own credentials; never selfscope's tokens). */
  env: Record<string, string>;
  /** The GitHub token for the agent's selfscope server only (null: pull requests become local proposals). */
  githubToken: string | null;
}

/** How the launcher hands the GitHub token to the server (github.tokenFile), never to the agent. */
export const TOKEN_FILE_ENV = 'SELFSCOPE_GITHUB__TOKEN_FILE';

const MAX_TIMEOUT_S = 4 * 3600;

const INSTALL_HINT: Record<AgentKind, string> = {
  'claude-code': 'Install Claude Code (npm i -g @anthropic-ai/claude-code) or put "claude" on the PATH selfscope runs with, then try again.',
  codex: 'Install Codex (npm i -g @openai/codex) or put "codex" on the PATH selfscope runs with, then try again.',
};

/** Whether `command` is an executable file in one of PATH's directories. */
async function onPath(command: string, searchPath: string): Promise<boolean> {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const ok = await fs.access(path.join(dir, command), fsConstants.X_OK).then(
      () => true,
      () => false,
    );
    if (ok) return true;
  }
  return false;
}

/**
 * What the agent's sandbox hides: the private directory; everything in the state directory
 * but the worktrees, and every worktree but its own (those present now: a worktree created
 * later is confined by the sandbox's write rules only); and, for writing, the main
 * checkout's git directory (config, hooks), the worktree's own .git file and its .claude
 * directory (settings and hooks a later session would load).
 */
async function sandboxPaths(deps: SessionDeps, worktree: string): Promise<SandboxPaths> {
  const hidden = new Set<string>();
  const readOnly = new Set<string>();
  // The sandbox sees real paths (a symlinked /tmp, say): name both.
  const add = async (set: Set<string>, p: string) => {
    set.add(path.resolve(p));
    const real = await fs.realpath(p).catch(() => null);
    if (real) set.add(real);
  };
  await add(hidden, deps.privateDirPath);
  const worktreesRoot = await deps.worktreesRoot();
  for (const entry of new Set([...(await fs.readdir(deps.stateDirPath).catch(() => [] as string[])), 'sessions'])) {
    const p = path.join(deps.stateDirPath, entry);
    if (path.resolve(p) !== path.resolve(worktreesRoot)) await add(hidden, p);
  }
  const own = await fs.realpath(worktree).catch(() => path.resolve(worktree));
  for (const entry of await fs.readdir(worktreesRoot).catch(() => [] as string[])) {
    const p = path.join(worktreesRoot, entry);
    if ((await fs.realpath(p).catch(() => path.resolve(p))) !== own) await add(hidden, p);
  }
  await add(readOnly, path.join(deps.repo, '.git'));
  await add(readOnly, path.join(worktree, '.git'));
  // Claude Code's own settings and hooks there would outlive this session's rules.
  await add(readOnly, path.join(worktree, '.claude'));
  return { hidden: [...hidden], readOnly: [...readOnly] };
}

function branchNameFor(options: LaunchSessionOptions): string {
  const words = (options.anomalyId ? `fix-${options.anomalyId}` : options.task)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/g, '');
  return `${options.anomalyId ? '' : 'investigate-'}${words || 'session'}-${randomBytes(3).toString('hex')}`;
}

/**
 * Starts a coding agent (Claude Code or Codex) as the bot's self-improvement agent: in a
 * branch and worktree of its own, with selfscope as its only MCP server, on the fix or
 * investigate playbook. Enforces dev mode, the daily budget and the timeout, streams
 * progress, records the session in the audit log, and returns what came of it.
 */
export async function runSession(options: LaunchSessionOptions, deps: SessionDeps): Promise<LaunchSessionResult> {
  if (!options.task.trim() && !options.anomalyId) {
    throw new UserInputError('A session needs a task or an anomaly id.', { hint: 'Pass --task "what the user said" or --anomaly ID.' });
  }
  const timeoutS = options.timeoutS ?? 1800;
  if (!Number.isFinite(timeoutS) || timeoutS <= 0 || timeoutS > MAX_TIMEOUT_S) {
    throw new UserInputError(`The timeout must be between 1 and ${MAX_TIMEOUT_S} seconds.`, { hint: 'Pass --timeout 1800 for half an hour.' });
  }
  const sessionId = `ses-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(4).toString('hex')}`;
  const auditBase = { session_id: sessionId, agent: options.agent, anomaly_id: options.anomalyId ?? null, requested_by: options.requestedBy ?? null, ...(options.hookLaunch ? { hook_launch: options.hookLaunch } : {}) };

  if (await deps.isPaused()) {
    await deps.audit('session_refused', 'paused', auditBase);
    throw new PolicyError('Dev mode is on: selfscope starts no self-improvement session while a person is developing.', {
      hint: `Remove ${pauseFile(deps.stateDirPath)} (or set watch.paused to false) to resume.`,
    });
  }
  try {
    await deps.checkBudget(options.hookLaunch !== undefined);
  } catch (error) {
    await deps.audit('session_refused', 'budget', auditBase);
    throw error;
  }

  // Before anything is created: a missing agent leaves no branch or worktree behind.
  const agentBinary = AGENT_BINARY[options.agent];
  if (!(await onPath(agentBinary, deps.env['PATH'] ?? ''))) {
    await deps.audit('session_refused', 'agent_missing', auditBase);
    throw new ConfigurationError(`The ${options.agent} command "${agentBinary}" was not found on PATH.`, { hint: INSTALL_HINT[options.agent] });
  }

  const { branch, worktree } = await deps.createWorktree(branchNameFor(options));
  // The token file lives only while the agent runs, in the private directory it cannot read.
  const secretsDir = path.join(deps.privateDirPath, 'sessions', sessionId);
  try {
    return await runAgent(options, deps, { sessionId, auditBase, timeoutS, branch, worktree, secretsDir });
  } finally {
    await fs.rm(secretsDir, { recursive: true, force: true });
  }
}

async function runAgent(
  options: LaunchSessionOptions,
  deps: SessionDeps,
  s: { sessionId: string; auditBase: Record<string, unknown>; timeoutS: number; branch: string; worktree: string; secretsDir: string },
): Promise<LaunchSessionResult> {
  const { sessionId, auditBase, timeoutS, branch, worktree } = s;
  const sessionDir = path.join(deps.stateDirPath, 'sessions', sessionId);
  await fs.mkdir(sessionDir, { recursive: true, mode: 0o700 });
  await fs.mkdir(deps.privateDirPath, { recursive: true, mode: 0o700 });
  let server = deps.server;
  if (deps.githubToken) {
    await fs.mkdir(s.secretsDir, { recursive: true, mode: 0o700 });
    const tokenFile = path.join(s.secretsDir, 'github-token');
    await fs.writeFile(tokenFile, deps.githubToken, { mode: 0o600, flag: 'wx' });
    server = { ...server, env: { ...server.env, [TOKEN_FILE_ENV]: tokenFile } };
  }
  const mcpConfigFile = path.join(sessionDir, 'mcp.json');
  await fs.writeFile(mcpConfigFile, `${JSON.stringify(claudeMcpConfig(server), null, 2)}\n`, { mode: 0o600 });
  let settingsFile: string | undefined;
  if (options.agent === 'claude-code') {
    settingsFile = path.join(sessionDir, 'claude-settings.json');
    await fs.writeFile(settingsFile, `${JSON.stringify(claudeSettings(await sandboxPaths(deps, worktree)), null, 2)}\n`, { mode: 0o600 });
  }

  const task = sanitizeUntrusted(options.task, 4000).text;
  const prompt = options.anomalyId
    ? fixAnomalyPlaybook({ anomalyId: options.anomalyId, ...(task ? { evidence: `The request that started this session: ${task}` } : {}) })
    : investigatePlaybook({ symptom: task, since: '24h' });
  const { command, args } = agentCommand({ agent: options.agent, prompt, worktree, mcpConfigFile, server, toolTimeoutS: deps.toolTimeoutS, ...(settingsFile ? { settingsFile } : {}), ...(options.agentArgs ? { extraArgs: options.agentArgs } : {}) });

  const started = Date.now();
  const emit = (event: Omit<SessionEvent, 'at' | 'session_id'>) => options.onEvent?.({ at: new Date().toISOString(), session_id: sessionId, ...event });
  await deps.audit('session_started', 'started', { ...auditBase, branch, worktree, command });
  emit({ type: 'session_started', detail: `${options.agent} in ${worktree} on ${branch}` });

  const { execa } = await import('execa');
  let child: ResultPromise;
  try {
    child = execa(command, args, {
      cwd: worktree,
      env: deps.env,
      extendEnv: false,
      stdin: 'ignore',
      timeout: timeoutS * 1000,
      killSignal: 'SIGTERM',
      forceKillAfterDelay: 5000,
      cancelSignal: options.signal,
      reject: false,
      maxBuffer: 64 * 1024 * 1024,
      lines: false,
      buffer: { stdout: false, stderr: true },
    });
  } catch (error) {
    throw new ConfigurationError(`Could not start ${command}.`, { cause: error, hint: INSTALL_HINT[options.agent] });
  }

  let summary = '';
  let costUsd: number | null = null;
  let sawError = false;
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (pending.length > 8 * 1024 * 1024) pending = ''; // a runaway line is dropped, not buffered
      const event = line ? parseAgentEvent(options.agent, line) : null;
      if (!event || event.type === 'other') continue;
      if (event.type === 'message' && event.text) summary = event.text;
      if (event.type === 'result') {
        if (event.text) summary = event.text;
        if (event.costUsd !== undefined) costUsd = event.costUsd;
        if (event.isError) sawError = true;
      }
      if (event.type === 'error') sawError = true;
      emit({ type: 'agent_event', agent_event: { ...event, ...(event.text ? { text: sanitizeUntrusted(event.text, 2000).text } : {}) } });
    }
  });

  const result = await child;
  const spawnFailed = (result as { code?: string }).code === 'ENOENT' || /ENOENT/.test(String((result as { originalMessage?: string }).originalMessage ?? ''));
  if (spawnFailed) {
    await deps.audit('session_finished', 'agent_missing', { ...auditBase, branch, worktree });
    throw new ConfigurationError(`The ${options.agent} command "${command}" was not found on PATH.`, { hint: INSTALL_HINT[options.agent] });
  }
  const outcome: SessionOutcome = result.timedOut ? 'timeout' : result.isCanceled ? 'cancelled' : result.exitCode === 0 && !sawError ? 'completed' : 'failed';
  const pr = await deps.findPullRequest(branch).catch(() => null);
  const finished: LaunchSessionResult = {
    session_id: sessionId,
    branch,
    worktree,
    pr,
    summary: sanitizeUntrusted(summary || (outcome === 'completed' ? 'The agent finished without a summary.' : `The agent ${outcome === 'failed' ? `exited with code ${result.exitCode}` : outcome === 'timeout' ? `was stopped after ${timeoutS} s` : 'was cancelled'}.`), 4000).text,
    cost_usd: costUsd,
    outcome,
    duration_ms: Date.now() - started,
    exit_code: result.exitCode ?? null,
  };
  await deps.audit('session_finished', outcome, { ...auditBase, branch, worktree, pr, cost_usd: costUsd, duration_ms: finished.duration_ms, exit_code: finished.exit_code });
  emit({ type: 'session_finished', detail: outcome });
  return finished;
}
