import type { CheckRunner } from '../core/checks/check-runner.js';
import type { WorktreeStateCache } from '../core/checks/worktree-state.js';
import type { LogIndex } from '../core/logs/log-index.js';
import { ConfigurationError, isSelfscopeError } from '../core/errors.js';
import type { AppContext } from './app-context.js';

/**
 * The engines one selfscope process shares between its sessions, created on first use and
 * closed on shutdown. Tools and resources get them here, never by building their own.
 *
 * Each engine's modules are imported on first use, not at start-up: a client waits for
 * `tools/list` only behind the SDK and the tool definitions, never behind DuckDB, execa
 * or the check runner's parsers.
 */
export function getLogIndex(app: AppContext): Promise<LogIndex> {
  return app.service(
    'logIndex',
    async () => {
      const [{ LogIndex }] = await Promise.all([import('../core/logs/log-index.js'), ensureAppStateDir(app)]);
      return LogIndex.open({
        repo: app.config.repo,
        logs: app.config.logs,
        stateDirPath: app.config.stateDirPath,
        schema: app.config.schema,
        limits: app.config.limits,
        logger: app.logger,
      });
    },
    (index) => index.close(),
  );
}

/**
 * The state directory, created (mode 0700, and added to the repository's info/exclude) once
 * per process, before the first tool call or log index, not at start-up: everything that
 * writes there runs behind one of them. A failure is that call's error, saying what to do,
 * and the next call tries again.
 */
export function ensureAppStateDir(app: AppContext): Promise<void> {
  return app.service('stateDir', async () => {
    const { ensureStateDir } = await import('../core/state/state-dir.js');
    try {
      await ensureStateDir(app.config.repo, app.config.stateDirPath);
    } catch (error) {
      if (isSelfscopeError(error)) throw error;
      throw new ConfigurationError(`The state directory ${app.config.stateDirPath} could not be created: ${error instanceof Error ? error.message : String(error)}.`, {
        cause: error,
        hint: 'Make its parent writable for this user, or point stateDir (--state-dir, SELFSCOPE_STATE_DIR) at a writable directory.',
      });
    }
  });
}

export function getCheckRunner(app: AppContext): Promise<CheckRunner> {
  return app.service('checkRunner', async () => {
    const { CheckRunner } = await import('../core/checks/check-runner.js');
    return new CheckRunner(app.config.checks, app.config.stateDirPath, app.config.privateDirPath, { repo: app.config.repo });
  });
}

/** The worktree a tool works in (see resolveWorktree). */
export async function toolWorktree(app: AppContext, requested: string | undefined): Promise<string> {
  const { resolveWorktree } = await import('../core/git/worktrees.js');
  return resolveWorktree({ repo: app.config.repo, stateDirPath: app.config.stateDirPath, privateDirPath: app.config.privateDirPath, worktreeDir: app.config.worktree.dir, cwd: app.cwd, requested });
}

/** What status reports remember about the session's worktree between two calls (see readWorktreeState). */
export function getWorktreeStateCache(app: AppContext): Promise<WorktreeStateCache> {
  return app.service('worktreeState', async () => new (await import('../core/checks/worktree-state.js')).WorktreeStateCache());
}
