import { CheckRunner } from '../core/checks/check-runner.js';
import { resolveWorktree } from '../core/git/worktrees.js';
import { LogIndex } from '../core/logs/log-index.js';
import { ensureStateDir } from '../core/state/state-dir.js';
import type { AppContext } from './app-context.js';

/**
 * The engines one selfscope process shares between its sessions, created on first use and
 * closed on shutdown. Tools and resources get them here, never by building their own.
 */
export function getLogIndex(app: AppContext): Promise<LogIndex> {
  return app.service(
    'logIndex',
    async () => {
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
  return app.service('checkRunner', async () => new CheckRunner(app.config.checks, app.config.stateDirPath, app.config.privateDirPath, { repo: app.config.repo }));
}

/** The worktree a tool works in (see resolveWorktree). */
export function toolWorktree(app: AppContext, requested: string | undefined): Promise<string> {
  return resolveWorktree({ repo: app.config.repo, stateDirPath: app.config.stateDirPath, cwd: app.cwd, requested });
}
