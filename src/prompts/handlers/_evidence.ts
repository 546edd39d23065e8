import { listAnomalies, type AnomalyRecord } from '../../core/anomalies/state.js';
import { readPullRequestRecords } from '../../core/audit/audit-log.js';
import { UserInputError } from '../../core/errors.js';
import { aggregate, parseDuration, timeline, TIMELINE_KEYS, type LogFilters } from '../../core/logs/query.js';
import { sanitizeUntrusted } from '../../core/text/bounded.js';
import type { AppContext } from '../../server/app-context.js';
import { getLogIndex } from '../../server/engines.js';

/**
 * Evidence the prompts gather before an agent starts: bounded, sanitised lines. Prompts never
 * fail because the logs are missing or empty; they say so and keep the playbook.
 */

/** A prompt's whole evidence block stays within this (an agent's context is limited). */
export const EVIDENCE_BYTES = 6000;

export function checkPeriod(value: string, name: string): string {
  const trimmed = value.trim();
  if (parseDuration(trimmed) === null) throw new UserInputError(`${name} must be a duration like 24h or 7d, not "${trimmed.slice(0, 40)}".`, { hint: 'Use a number and a unit: 30m, 24h, 7d.' });
  return trimmed;
}

export function anomalyLine(a: AnomalyRecord): string {
  return `${a.id} [${a.severity}] ${a.rule}: ${a.summary}${a.anomaly.onset ? ` (onset ${a.anomaly.onset})` : ''}`;
}

export async function openAnomalies(app: AppContext, limit = 10): Promise<AnomalyRecord[]> {
  return listAnomalies(app.config.privateDirPath, 'open', limit);
}

/** Groups (by the given columns) with their metrics; empty when the logs cannot be read. */
export async function aggregateRows(app: AppContext, filters: LogFilters, groupBy: string[], metrics: Array<'count' | 'errors' | 'error_rate' | 'p95' | 'cost'>, limit: number): Promise<Array<Record<string, unknown>>> {
  try {
    const index = await getLogIndex(app);
    await index.refresh();
    return (await aggregate(index, { filters, group_by: groupBy, metrics, limit }, { fieldBytes: 300, maxBytes: 12_000 })).rows;
  } catch {
    return [];
  }
}

/** The same groups, each as one `key=value ...` line. */
export async function aggregateLines(...args: Parameters<typeof aggregateRows>): Promise<string[]> {
  return (await aggregateRows(...args)).map((row) =>
    Object.entries(row)
      .map(([k, v]) => `${k}=${v === null ? '-' : String(v)}`)
      .join(' '),
  );
}

/** The latest failure with this fingerprint and what happened around it (its session, turn or call). */
export async function exampleTimeline(app: AppContext, fingerprint: string): Promise<string[]> {
  try {
    const index = await getLogIndex(app);
    const [latest] = await index.all<Record<string, string | null>>(
      `SELECT id, ${TIMELINE_KEYS.join(', ')} FROM logs WHERE is_failure AND fingerprint = ? ORDER BY ts DESC LIMIT 1`,
      [fingerprint],
    );
    if (!latest) return [];
    const key = TIMELINE_KEYS.find((k) => latest[k]);
    if (!key) return [`${latest['id']} (no session, turn or call id to follow)`];
    const t = await timeline(index, key, latest[key]!, { fieldBytes: 200, maxBytes: 2500, maxEvents: 8 });
    return [
      `${key} ${latest[key]}: ${t.total_events} events, ${t.totals.errors} failed${t.truncated ? ` (first ${t.events.length} shown)` : ''}`,
      ...t.events.map((e) => `${e['ts']} ${e['id']} ${e['event']}${e['tool_name'] ? ` ${e['tool_name']}` : ''}${e['error'] ? ` error: ${e['error']}` : ''}`),
    ];
  } catch {
    return [];
  }
}

/** Pull requests selfscope opened in the period that no merge has followed. */
export async function waitingPullRequests(app: AppContext, sinceMs: number): Promise<string[]> {
  const records = (await readPullRequestRecords(app.config.privateDirPath)).filter((r) => Date.parse(r.ts) >= sinceMs);
  const merged = new Set(records.filter((r) => r.change === 'merged').map((r) => r.key));
  const opened = new Map(records.filter((r) => r.change === 'opened').map((r) => [r.key, `${r.number !== null ? `${r.key} ` : ''}${r.branch ?? ''}: ${r.url ?? r.proposal_dir ?? 'local proposal'}`]));
  return [...opened.entries()].filter(([key]) => !merged.has(key)).map(([, line]) => line);
}

/**
 * Joins sections into evidence text within the budget, sanitised (log content is untrusted);
 * the prompt sends it as an untrusted part, which the server boundary delimits.
 */
export function evidenceText(sections: Array<[string, string[]]>): string {
  const text = sections
    .filter(([, lines]) => lines.length)
    .map(([title, lines]) => `${title}:\n${lines.map((l) => `- ${l}`).join('\n')}`)
    .join('\n\n');
  return sanitizeUntrusted(text || 'Nothing matched in the logs.', EVIDENCE_BYTES, { keepNewlines: true }).text;
}
