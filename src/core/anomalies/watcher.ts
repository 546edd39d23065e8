import { execa } from 'execa';
import type { ConfigFile } from '../../config/schema.js';
import { appendAudit } from '../audit/audit-log.js';
import type { Logger } from '../logger.js';
import type { LogIndex } from '../logs/log-index.js';
import { emptyIndexNotice } from '../logs/index-coverage.js';
import { parseDuration } from '../logs/query.js';
import { StateStore } from '../state/store.js';
import { sanitizeUntrusted } from '../text/bounded.js';
import { redactSecrets } from '../text/secrets.js';
import { DetectCache } from './cache.js';
import { detectAnomalies, type Anomaly } from './detect.js';
import { updateAnomalyState, type AnomalyRecord } from './state.js';
import { budgetUsed, HOOK_LAUNCH_ENV, isDevModePaused } from '../session/budget.js';

/**
 * `selfscope watch`: runs the rules continuously and raises the alarm once per incident — a
 * Discord webhook post (the dev channel), an optional hook command (how the bot launches a
 * self-improvement session) and one NDJSON line on stdout and in the audit log. What is due is
 * decided by what the watcher itself notified before (its watch_notifications table), not by
 * whether an agent's detect_anomalies opened the incident first: an open incident never
 * notified is notified, a severity above the last notified one escalates, an incident reopened
 * after the cooldown is notified again. Never flooding, paused in dev mode, and within a daily
 * budget of hook launches.
 */

export interface WatchConfig {
  repo: string;
  logs: readonly string[];
  stateDirPath: string;
  privateDirPath: string;
  anomalies: ConfigFile['anomalies'];
  watch: ConfigFile['watch'];
}

export interface WatcherDeps {
  index: LogIndex;
  config: WatchConfig;
  logger: Logger;
  /** Where notification lines go (stdout in the CLI). */
  emit: (line: string) => void;
  webhookUrl?: string | undefined;
  now?: () => Date;
  retryDelayMs?: number;
  env?: Record<string, string>;
}

export interface Notification {
  ts: string;
  anomaly_id: string;
  change: 'opened' | 'escalated';
  severity: string;
  summary: string;
  webhook: 'sent' | 'failed' | 'not_configured' | 'summarised' | 'dry_run';
  hook: 'launched' | 'failed' | 'not_configured' | 'skipped: paused' | 'skipped: budget' | 'summarised' | 'dry_run';
  /** The rules behind the incident, lead first. */
  rules: string[];
}

export interface TickResult {
  notifications: Notification[];
  /** Incidents open after this evaluation, with what was last notified of each. */
  open: Array<{ id: string; severity: string; summary: string; notified_at: string | null }>;
  /** Set when nothing is indexed (no log file matched, or no event yet). */
  notice: string | null;
}

const SCHEMA = ['CREATE TABLE IF NOT EXISTS watch_notifications (anomaly_id VARCHAR, notified_at TIMESTAMP, severity VARCHAR)'];
const RANK: Record<string, number> = { low: 0, medium: 1, high: 2, critical: 3 };
const COLORS: Record<string, number> = { low: 0x95a5a6, medium: 0xf1c40f, high: 0xe67e22, critical: 0xe74c3c };
// Evaluate at least this often even when no line arrived, so quiet anomalies resolve.
const IDLE_EVALUATION_MS = 5 * 60_000;

/**
 * The onset in Discord's own time markup: each reader sees it in their time zone, with an age
 * ("3 hours ago") that stays true as the message ages, which no age written at posting can.
 */
function sinceField(onset: string | null): string {
  const ms = onset === null ? NaN : Date.parse(onset);
  if (!Number.isFinite(ms)) return '-';
  const s = Math.floor(ms / 1000);
  return `<t:${s}:f> (<t:${s}:R>)`;
}

export function discordPayload(anomaly: Anomaly, change: string): Record<string, unknown> {
  const fig = (o: Record<string, number | null>) =>
    Object.entries(o)
      .map(([k, v]) => `${k}: ${v === null ? '?' : k.includes('rate') ? `${Math.round(v * 1000) / 10}%` : v}`)
      .join(', ');
  const summary = sanitizeUntrusted(anomaly.summary, 1500).text;
  return {
    content: `⚠️ selfscope: ${summary}`.slice(0, 1900),
    // Log text can contain @everyone or role mentions: ping nobody.
    allowed_mentions: { parse: [] },
    embeds: [
      {
        title: `${change === 'escalated' ? 'Escalated' : 'New'} ${anomaly.severity} incident: ${anomaly.rule}${anomaly.signals.length > 1 ? ` (+${anomaly.signals.length - 1} related signal${anomaly.signals.length > 2 ? 's' : ''})` : ''}`,
        description: summary,
        color: COLORS[anomaly.severity] ?? 0x95a5a6,
        timestamp: new Date().toISOString(),
        fields: [
          { name: 'Observed', value: fig(anomaly.observed).slice(0, 1000) || '-', inline: true },
          { name: 'Baseline', value: fig(anomaly.expected).slice(0, 1000) || '-', inline: true },
          { name: 'Since', value: sinceField(anomaly.onset), inline: true },
          ...(anomaly.signals.length > 1 ? [{ name: 'Signals', value: anomaly.signals.map((x) => `${x.rule} (${x.severity})`).join(', ').slice(0, 1000) }] : []),
          { name: 'Evidence (query_runtime_logs)', value: `\`\`\`json\n${redactSecrets(JSON.stringify(anomaly.evidence_query)).slice(0, 900)}\n\`\`\`` },
        ],
        footer: { text: anomaly.id },
      },
    ],
  };
}

/** The incident was reopened (resolved, then firing again) after `sinceMs`. */
function reopenedSince(rec: AnomalyRecord | undefined, sinceMs: number): boolean {
  return rec !== undefined && rec.history.some((h) => h.change === 'reopened' && Date.parse(h.at) > sinceMs);
}

export class Watcher {
  private lastEvents = -1;
  private lastEvaluation = 0;
  private readonly cache = new DetectCache();
  private lastStateUpdate = 0;
  private readonly now: () => Date;

  constructor(private readonly deps: WatcherDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  private store(): StateStore {
    return StateStore.inStateDir(this.deps.config.privateDirPath);
  }

  isPaused(): Promise<boolean> {
    return isDevModePaused(this.deps.config);
  }

  /** Launches and dollars spent today (UTC), from the audit log. */
  budgetUsed(): Promise<{ launches: number; usd: number }> {
    return budgetUsed(this.deps.config.privateDirPath, this.now());
  }

  /** One evaluation; returns the notifications it sent. Cheap when nothing changed. */
  async tick(): Promise<Notification[]> {
    return (await this.evaluate()).notifications;
  }

  /**
   * One evaluation with what it found. `dryRun` decides what is due and returns it without
   * sending, running the hook or recording anything as notified.
   */
  async evaluate(options: { dryRun?: boolean; force?: boolean } = {}): Promise<TickResult> {
    const { index, config } = this.deps;
    await index.refresh();
    const events = index.freshness().events;
    const at = this.now();
    if (!options.force && events === this.lastEvents && at.getTime() - this.lastEvaluation < IDLE_EVALUATION_MS) return { notifications: [], open: [], notice: null };
    this.lastEvents = events;
    this.lastEvaluation = at.getTime();
    if (events === 0) return { notifications: [], open: [], notice: (await emptyIndexNotice(index, this.deps.config.repo, this.deps.config.logs)) ?? 'Nothing is indexed.' };
    const anomalies = await detectAnomalies(index, { at, thresholds: config.anomalies, cache: this.cache });
    // Nothing fires: the state only needs its quiet incidents resolved, which can wait a few minutes.
    if (anomalies.length === 0 && !options.dryRun && at.getTime() - this.lastStateUpdate < IDLE_EVALUATION_MS) return { notifications: [], open: [], notice: null };
    this.lastStateUpdate = at.getTime();
    const changes = await updateAnomalyState(config.privateDirPath, anomalies, at, parseDuration(config.anomalies.quietPeriod) ?? 1_800_000);
    const records = new Map(changes.records.map((r) => [r.id, r]));

    const cooldownMs = parseDuration(config.watch.cooldown) ?? 3_600_000;
    const { last, sentInLastHour } = await this.store().run('watch', SCHEMA, async (conn) => {
      const stmt = await conn.prepare('SELECT anomaly_id, max(epoch_ms(notified_at)) AS last_at, arg_max(severity, notified_at) AS severity FROM watch_notifications GROUP BY 1');
      const rows = (await stmt.runAndReadAll()).getRowObjectsJS() as Array<{ anomaly_id: string; last_at: number; severity: string }>;
      const hour = await conn.prepare('SELECT count(*) AS n FROM watch_notifications WHERE notified_at >= $1::TIMESTAMP - INTERVAL 1 HOUR');
      hour.bind([at.toISOString()]);
      return { last: new Map(rows.map((r) => [r.anomaly_id, r])), sentInLastHour: Number((await hour.runAndReadAll()).getRowObjectsJS()[0]?.['n'] ?? 0) };
    });
    const due: Array<{ a: Anomaly; change: 'opened' | 'escalated' }> = [];
    for (const a of anomalies) {
      const prev = last.get(a.id);
      if (!prev) {
        due.push({ a, change: 'opened' });
        continue;
      }
      if ((RANK[a.severity] ?? 0) > (RANK[prev.severity] ?? 0)) {
        due.push({ a, change: 'escalated' });
        continue;
      }
      if (reopenedSince(records.get(a.id), Number(prev.last_at)) && at.getTime() - Number(prev.last_at) >= cooldownMs) due.push({ a, change: 'opened' });
    }
    const open = anomalies.map((a) => ({ id: a.id, severity: a.severity, summary: sanitizeUntrusted(a.summary, 300).text, notified_at: last.has(a.id) ? new Date(Number(last.get(a.id)!.last_at)).toISOString() : null }));
    const room = Math.max(0, config.watch.maxPerHour - sentInLastHour);
    const sendNow = due.slice(0, room);
    const overflow = due.slice(room);
    const note = (a: Anomaly, change: 'opened' | 'escalated', webhook: Notification['webhook'], hook: Notification['hook']): Notification => ({
      ts: at.toISOString(),
      anomaly_id: a.id,
      change,
      severity: a.severity,
      summary: sanitizeUntrusted(a.summary, 500).text,
      webhook,
      hook,
      rules: [...new Set(a.signals.map((s) => s.rule))],
    });
    if (options.dryRun) return { notifications: due.map(({ a, change }) => note(a, change, 'dry_run', 'dry_run')), open, notice: null };

    const paused = await this.isPaused();
    const sent: Notification[] = [];
    for (const { a, change } of sendNow) {
      const webhook = this.deps.webhookUrl ? ((await this.postWebhook(discordPayload(a, change))) ? 'sent' : 'failed') : 'not_configured';
      const hook = await this.runHook(a, change, paused);
      const n = note(a, change, webhook, hook);
      sent.push(n);
      await this.record(n);
    }
    if (overflow.length > 0) {
      // Over the hourly limit: one summary instead of a flood.
      const summary = `${overflow.length} more anomal${overflow.length === 1 ? 'y' : 'ies'} (hourly notification limit ${config.watch.maxPerHour}): ${overflow.map(({ a }) => `${a.rule} ${a.id}`).join(', ')}`.slice(0, 1800);
      const webhook = this.deps.webhookUrl ? ((await this.postWebhook({ content: `⚠️ selfscope: ${summary}`, allowed_mentions: { parse: [] } })) ? 'sent' : 'failed') : 'not_configured';
      for (const { a, change } of overflow) {
        const n = note(a, change, webhook === 'sent' ? 'summarised' : webhook, 'summarised');
        sent.push(n);
        // Summarised counts as notified: the next evaluation does not summarise it again.
        await this.record(n);
      }
    }
    return { notifications: sent, open, notice: null };
  }

  private async record(note: Notification): Promise<void> {
    this.deps.emit(JSON.stringify(note));
    await this.store().run('watch', SCHEMA, async (conn) => {
      const stmt = await conn.prepare('INSERT INTO watch_notifications VALUES ($1, $2::TIMESTAMP, $3)');
      stmt.bind([note.anomaly_id, note.ts, note.severity]);
      await stmt.run();
    });
    await appendAudit(this.deps.config.privateDirPath, { kind: 'selfscope_watch', event: 'anomaly_notified', tool: 'selfscope watch', outcome: `${note.change}: webhook ${note.webhook}, hook ${note.hook}`, details: { anomaly_id: note.anomaly_id, severity: note.severity } });
  }

  async postWebhook(payload: Record<string, unknown>): Promise<boolean> {
    const url = this.deps.webhookUrl!;
    const base = this.deps.retryDelayMs ?? 1000;
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload), signal: AbortSignal.timeout(10_000) });
        if (res.ok) return true;
        if (res.status >= 400 && res.status < 500 && res.status !== 429) {
          this.deps.logger.log('warning', `the webhook refused the notification (${res.status}); check watch.webhookUrl / SELFSCOPE_WEBHOOK_URL`);
          return false;
        }
        const retryAfter = Number(res.headers.get('retry-after'));
        await new Promise((r) => setTimeout(r, Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, 30_000) : base * 2 ** attempt));
      } catch {
        await new Promise((r) => setTimeout(r, base * 2 ** attempt));
      }
    }
    // The URL holds a secret: it is never logged.
    this.deps.logger.log('warning', 'the webhook did not accept the notification after 4 attempts');
    return false;
  }

  private async runHook(anomaly: Anomaly, change: string, paused: boolean): Promise<Notification['hook']> {
    const hook = this.deps.config.watch.hook;
    if (!hook) return 'not_configured';
    if (paused) return 'skipped: paused';
    const used = await this.budgetUsed();
    const budget = this.deps.config.watch.dailyBudget;
    if (used.launches >= budget.launches || used.usd >= budget.usd) {
      await appendAudit(this.deps.config.privateDirPath, { kind: 'selfscope_watch', event: 'hook_skipped', tool: 'selfscope watch', outcome: 'refused: daily budget', details: { anomaly_id: anomaly.id, ...used, budget } });
      return 'skipped: budget';
    }
    await appendAudit(this.deps.config.privateDirPath, { kind: 'selfscope_watch', event: 'hook_launched', tool: 'selfscope watch', outcome: 'launched', details: { anomaly_id: anomaly.id, command: hook[0] } });
    const result = await execa(hook[0]!, hook.slice(1), {
      input: JSON.stringify({ change, anomaly }),
      timeout: this.deps.config.watch.hookTimeoutS * 1000,
      reject: false,
      env: { ...(this.deps.env ?? { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' }), [HOOK_LAUNCH_ENV]: anomaly.id },
      extendEnv: false,
      stdout: 'ignore',
      stderr: 'pipe',
      maxBuffer: 64 * 1024,
    });
    return result.exitCode === 0 ? 'launched' : 'failed';
  }

  /** Runs tick() every interval until stopped; errors are logged, not fatal. */
  start(intervalMs: number): () => void {
    let stopped = false;
    let timer: NodeJS.Timeout | null = null;
    const loop = async () => {
      if (stopped) return;
      try {
        await this.tick();
      } catch (error) {
        this.deps.logger.log('error', 'watch evaluation failed', { error: String(error) });
      }
      if (!stopped) timer = setTimeout(loop, intervalMs);
    };
    void loop();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }
}
