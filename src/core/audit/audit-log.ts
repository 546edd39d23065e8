import fs from 'node:fs/promises';
import path from 'node:path';
import { redactSecrets } from '../text/secrets.js';

/**
 * The audit log: every mutating action (and every refusal) as one line of
 * `<privateDir>/audit.ndjson`, in the bot's own runtime-action schema, so the bot's log tools
 * see what its self-improvement did. It lives in the private directory, where an agent can neither
 * rewrite its history nor, through it, the daily budget.
 */

export interface AuditEntry {
  kind: 'selfscope_git' | 'selfscope_watch' | 'selfscope_session' | 'selfscope_checks' | 'selfscope_policy';
  event: string;
  /** error for refusals and failures, else info. */
  level?: 'info' | 'error';
  tool: string;
  outcome: string;
  arguments?: Record<string, unknown>;
  details?: Record<string, unknown>;
  usd_cost?: number;
  user_id?: string | null;
}

const MAX_VALUE = 2000;

function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactSecrets(value.length > MAX_VALUE ? `${value.slice(0, MAX_VALUE)}…` : value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redactValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = /token|secret|password|authorization|api[_-]?key/i.test(k) ? '[REDACTED]' : redactValue(v, depth + 1);
  return out;
}

export function auditFile(privateDirPath: string): string {
  return path.join(privateDirPath, 'audit.ndjson');
}

export async function appendAudit(privateDirPath: string, entry: AuditEntry): Promise<void> {
  const line = {
    ts: new Date().toISOString(),
    source: 'selfscope',
    level: entry.level ?? (/^(refused|failed|error)/.test(entry.outcome) ? 'error' : 'info'),
    kind: entry.kind,
    event: entry.event,
    agent: 'selfscope',
    guild_id: null,
    channel_id: null,
    message_id: null,
    user_id: entry.user_id ?? null,
    usd_cost: entry.usd_cost ?? 0,
    content: `${entry.tool}: ${entry.outcome}`,
    metadata: redactValue({ tool: entry.tool, outcome: entry.outcome, arguments: entry.arguments ?? {}, ...(entry.details ?? {}) }),
  };
  await fs.mkdir(privateDirPath, { recursive: true, mode: 0o700 });
  // One write with O_APPEND: concurrent writers (several sessions) never interleave a line.
  await fs.appendFile(auditFile(privateDirPath), `${JSON.stringify(line)}\n`, { mode: 0o600 });
}

export async function readAudit(privateDirPath: string): Promise<Array<Record<string, unknown>>> {
  let text = '';
  try {
    text = await fs.readFile(auditFile(privateDirPath), 'utf8');
  } catch {
    return [];
  }
  const out: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // A torn line from a crash: skipped.
    }
  }
  return out;
}

/** A pull request opened, or merged, by the git tools, as their audit entries record it. */
export interface PullRequestRecord {
  ts: string;
  change: 'opened' | 'merged';
  /** `#<number>` for a GitHub pull request (merges name only the number), else the branch (a local proposal). */
  key: string;
  branch: string | null;
  number: number | null;
  url: string | null;
  proposal_dir: string | null;
}

/** Successful git_pr_create and git_pr_merge calls, oldest first. */
export async function readPullRequestRecords(privateDirPath: string): Promise<PullRequestRecord[]> {
  const out: PullRequestRecord[] = [];
  for (const e of await readAudit(privateDirPath)) {
    if (e['level'] === 'error' || (e['event'] !== 'git_pr_create' && e['event'] !== 'git_pr_merge')) continue;
    const result = (((e['metadata'] ?? {}) as Record<string, unknown>)['result'] ?? {}) as Record<string, unknown>;
    if (e['event'] === 'git_pr_merge' && result['merged'] !== true) continue;
    const branch = typeof result['branch'] === 'string' && result['branch'] ? result['branch'] : null;
    const number = typeof result['number'] === 'number' ? result['number'] : null;
    const key = number !== null ? `#${number}` : branch;
    if (!key) continue;
    out.push({
      ts: String(e['ts']),
      change: e['event'] === 'git_pr_create' ? 'opened' : 'merged',
      key,
      branch,
      number,
      url: typeof result['url'] === 'string' ? result['url'] : null,
      proposal_dir: typeof result['proposal_dir'] === 'string' ? result['proposal_dir'] : null,
    });
  }
  return out;
}
