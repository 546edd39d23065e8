import type { CheckRunner } from '../core/checks/check-runner.js';
import type { WorktreeStateCache } from '../core/checks/worktree-state.js';
import type { LogIndex } from '../core/logs/log-index.js';
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
      const [{ ensureStateDir }, { LogIndex }] = await Promise.all([import('../core/state/state-dir.js'), import('../core/logs/log-index.js')]);
      await ensureStateDir(app.config.repo, app.config.stateDirPath);
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
