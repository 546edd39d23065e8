import fs from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedConfig } from '../../config/load.js';
import { readAudit } from '../audit/audit-log.js';
import { PolicyError } from '../errors.js';

/**
 * Dev mode and the daily budget, shared by the watcher's hook and the session launcher:
 * while a person develops, nothing is launched; and no more than `watch.dailyBudget`
 * launches or dollars a day (UTC), counted from the audit log.
 */

export function pauseFile(stateDirPath: string): string {
  return path.join(stateDirPath, 'paused');
}

export async function isDevModePaused(config: Pick<ResolvedConfig, 'watch' | 'stateDirPath'>): Promise<boolean> {
  if (config.watch.paused) return true;
  return fs.access(pauseFile(config.stateDirPath)).then(
    () => true,
    () => false,
  );
}

/** The watcher tells a session its hook started it (so the launch is counted once). */
export const HOOK_LAUNCH_ENV = 'SELFSCOPE_HOOK_LAUNCH';

/** Launches (hook runs and sessions) and model dollars spent today (UTC). */
export async function budgetUsed(privateDirPath: string, now: Date = new Date()): Promise<{ launches: number; usd: number }> {
  const today = now.toISOString().slice(0, 10);
  let launches = 0;
  let usd = 0;
  for (const line of await readAudit(privateDirPath)) {
    if (!String(line['ts'] ?? '').startsWith(today)) continue;
    const meta = (line['metadata'] ?? {}) as Record<string, unknown>;
    if (line['kind'] === 'selfscope_watch' && line['event'] === 'hook_launched') launches++;
    // A session the hook started was counted with the hook.
    if (line['kind'] === 'selfscope_session' && line['event'] === 'session_started' && !meta['hook_launch']) launches++;
    if (line['kind'] === 'selfscope_session') usd += Number(line['usd_cost'] ?? 0);
  }
  return { launches, usd };
}

/** Refuses when today's budget is spent; a launch the hook already counted only needs to fit. */
export async function checkBudget(config: Pick<ResolvedConfig, 'watch' | 'privateDirPath'>, options: { alreadyCounted?: boolean; now?: Date } = {}): Promise<void> {
  const used = await budgetUsed(config.privateDirPath, options.now);
  const budget = config.watch.dailyBudget;
  const launchesLeft = options.alreadyCounted ? used.launches <= budget.launches : used.launches < budget.launches;
  if (!launchesLeft || used.usd >= budget.usd) {
    throw new PolicyError(`Today's budget for self-improvement sessions is spent: ${used.launches} of ${budget.launches} launches, $${used.usd.toFixed(2)} of $${budget.usd.toFixed(2)}.`, {
      hint: 'Try again tomorrow (UTC), or have a person raise watch.dailyBudget in selfscope.config.json.',
    });
  }
}
