import type { BackgroundRuns } from '../core/checks/background-runs.js';
import type { AppContext } from './app-context.js';

/** The check runs this process follows (one registry for every session); running ones are stopped at shutdown. */
export function getBackgroundRuns(app: AppContext): Promise<BackgroundRuns> {
  return app.service(
    'backgroundRuns',
    async () => new (await import('../core/checks/background-runs.js')).BackgroundRuns(),
    (runs) => runs.close(),
  );
}
