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
