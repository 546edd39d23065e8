import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type ResolvedConfig } from '../../config/load.js';
import { appendAudit, readPullRequestRecords } from '../audit/audit-log.js';
import { createBranchWorktree } from '../git/branch.js';
import { worktreesDir } from '../git/worktrees.js';
import { worktreeOptionsFrom } from '../worktree/from-config.js';
import { githubToken } from '../github/pull-request.js';
import { checkBudget, isDevModePaused } from './budget.js';
import { runSession, type LaunchSessionOptions, type LaunchSessionResult, type SessionDeps } from './launcher.js';

// The built CLI, from dist/core/session (or src/core/session when run from source).
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'cli', 'main.js');

/**
 * What the agent may see of our environment: its own model credentials and the basics. Never
 * selfscope's tokens: not the HTTP token, and not the GitHub token, which only the selfscope
 * server the agent starts gets (through a file, see TOKEN_FILE_ENV).
 */
const PASSED_ENV = /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LC_[A-Z]+|TERM|TZ|TMPDIR|XDG_[A-Z_]+|NODE_EXTRA_CA_CERTS|SSL_CERT_(FILE|DIR)|(HTTPS?|NO|ALL)_PROXY|(https?|no|all)_proxy|ANTHROPIC_[A-Z0-9_]+|CLAUDE_[A-Z0-9_]+|OPENAI_[A-Z0-9_]+|CODEX_[A-Z0-9_]+)$/;

export function agentEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && PASSED_ENV.test(key)) out[key] = value;
  return out;
}

/** The launcher's real dependencies for one repository's configuration. */
export function createSessionDeps(config: ResolvedConfig, options: { env?: NodeJS.ProcessEnv } = {}): SessionDeps {
  const env = options.env ?? process.env;
  return {
    repo: config.repo,
    stateDirPath: config.stateDirPath,
    privateDirPath: config.privateDirPath,
    worktreesRoot: () => worktreesDir({ repo: config.repo, stateDirPath: config.stateDirPath, privateDirPath: config.privateDirPath, dir: config.worktree.dir }),
    isPaused: () => isDevModePaused(config),
    checkBudget: (alreadyCounted) => checkBudget(config, { alreadyCounted }),
    createWorktree: async (name) => {
      const created = await createBranchWorktree({ ...worktreeOptionsFrom(config), name });
      return { branch: created.branch, worktree: created.worktree };
    },
    // The agent starts this server in its worktree, which makes that worktree the tools' default.
    // Its private directory is named outright: an agent may pass its server few variables (Codex
    // passes a short list), and a different XDG_STATE_HOME would mean different private state.
    server: {
      command: process.execPath,
      args: [CLI, 'serve', '--repo', config.repo, '--state-dir', config.stateDirPath, ...(config.configFile ? ['--config', config.configFile] : []), ...config.logs.flatMap((glob) => ['--logs', glob])],
      env: { SELFSCOPE_PRIVATE_DIR: config.privateDirPath },
    },
    audit: (event, outcome, metadata) =>
      appendAudit(config.privateDirPath, {
        kind: 'selfscope_session',
        event,
        tool: 'selfscope session',
        outcome,
        details: metadata,
        ...(typeof metadata['cost_usd'] === 'number' ? { usd_cost: metadata['cost_usd'] } : {}),
        ...(typeof metadata['requested_by'] === 'string' ? { user_id: metadata['requested_by'] } : {}),
      }),
    findPullRequest: async (branch) => {
      const opened = (await readPullRequestRecords(config.privateDirPath)).filter((r) => r.change === 'opened' && r.branch === branch).at(-1);
      return opened ? { url: opened.url, number: opened.number, local_proposal: opened.proposal_dir } : null;
    },
    // A check may run checks.maxTimeoutS; the agent must wait that long for the tool's answer
    // (Codex through tool_timeout_sec, Claude Code through MCP_TOOL_TIMEOUT in milliseconds).
    toolTimeoutS: config.checks.maxTimeoutS + 60,
    env: { ...agentEnvironment(env), MCP_TOOL_TIMEOUT: String((config.checks.maxTimeoutS + 60) * 1000) },
    githubToken: githubToken(config.github, env),
  };
}

export interface LaunchOptions extends LaunchSessionOptions {
  /** The bot's repository (default: the current directory's). */
  repo?: string;
  /** A configuration file other than <repo>/selfscope.config.json. */
  configPath?: string;
  /** The environment to read configuration and the agent's credentials from (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * The bot's entry point: "fix this" from an allowed user (or an anomaly from the watcher)
 * becomes a Claude Code or Codex session in a branch and worktree of its own, with
 * selfscope as its MCP server. Resolves with what came of it; refusals (dev mode, budget,
 * no agent installed) reject with a typed error whose `hint` says what to do.
 */
export async function launchSession(options: LaunchOptions): Promise<LaunchSessionResult> {
  const env = options.env ?? process.env;
  const config = await loadConfig({ cwd: options.repo ?? process.cwd(), env, ...(options.configPath ? { configPath: options.configPath } : {}) });
  return runSession(options, createSessionDeps(config, { env }));
}
