import { execa } from 'execa';
import type { ConfigFile } from '../../config/schema.js';
import { appendAudit } from '../audit/audit-log.js';
import type { Logger } from '../logger.js';
import type { LogIndex } from '../logs/log-index.js';
import { parseDuration } from '../logs/query.js';
import { StateStore } from '../state/store.js';
import { sanitizeUntrusted } from '../text/bounded.js';
import { redactSecrets } from '../text/secrets.js';
import { detectAnomalies, type Anomaly } from './detect.js';
import { updateAnomalyState } from './state.js';
import { budgetUsed, HOOK_LAUNCH_ENV, isDevModePaused } from '../session/budget.js';

/**
 * `selfscope watch`: runs the rules continuously and raises the alarm for each anomaly
 * that opens or escalates — a Discord webhook post (the dev channel), an optional hook
 * command (how the bot launches a self-improvement session) and one NDJSON line on stdout
 * and in the audit log. De-duplicated with a cooldown, never flooding, paused in dev mode,
 * and within a daily budget of hook launches.
 */

export interface WatchConfig {
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
  webhook: 'sent' | 'failed' | 'not_configured' | 'summarised';
  hook: 'launched' | 'failed' | 'not_configured' | 'skipped: paused' | 'skipped: budget' | 'summarised';
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
        title: `${change === 'escalated' ? 'Escalated' : 'New'} ${anomaly.severity} anomaly: ${anomaly.rule}`,
        description: summary,
        color: COLORS[anomaly.severity] ?? 0x95a5a6,
        timestamp: new Date().toISOString(),
        fields: [
          { name: 'Observed', value: fig(anomaly.observed).slice(0, 1000) || '-', inline: true },
          { name: 'Baseline', value: fig(anomaly.expected).slice(0, 1000) || '-', inline: true },
          { name: 'Since', value: sinceField(anomaly.onset), inline: true },
          { name: 'Evidence (query_runtime_logs)', value: `\`\`\`json\n${redactSecrets(JSON.stringify(anomaly.evidence_query)).slice(0, 900)}\n\`\`\`` },
        ],
        footer: { text: anomaly.id },
      },
    ],
  };
}

export class Watcher {
  private lastEvents = -1;
  private lastEvaluation = 0;
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
    const { index, config } = this.deps;
    await index.refresh();
    const events = index.freshness().events;
    const at = this.now();
    if (events === this.lastEvents && at.getTime() - this.lastEvaluation < IDLE_EVALUATION_MS) return [];
    this.lastEvents = events;
    this.lastEvaluation = at.getTime();
    const anomalies = await detectAnomalies(index, { at, thresholds: config.anomalies });
    const changes = await updateAnomalyState(config.privateDirPath, anomalies, at, parseDuration(config.anomalies.quietPeriod) ?? 1_800_000);
    const candidates = [...changes.opened.map((a) => ({ a, change: 'opened' as const })), ...changes.escalated.map((a) => ({ a, change: 'escalated' as const }))];
    if (candidates.length === 0) return [];

    const cooldownMs = parseDuration(config.watch.cooldown) ?? 3_600_000;
    const recent = await this.store().run('watch', SCHEMA, async (conn) => {
      const stmt = await conn.prepare("SELECT anomaly_id, max(epoch_ms(notified_at)) AS last_at, arg_max(severity, notified_at) AS severity FROM watch_notifications WHERE notified_at >= $1::TIMESTAMP - INTERVAL 1 DAY GROUP BY 1");
      stmt.bind([at.toISOString()]);
      return (await stmt.runAndReadAll()).getRowObjectsJS() as Array<{ anomaly_id: string; last_at: number; severity: string }>;
    });
    const sentInLastHour = await this.store().run('watch', SCHEMA, async (conn) => {
      const stmt = await conn.prepare('SELECT count(*) AS n FROM watch_notifications WHERE notified_at >= $1::TIMESTAMP - INTERVAL 1 HOUR');
      stmt.bind([at.toISOString()]);
      return Number((await stmt.runAndReadAll()).getRowObjectsJS()[0]?.['n'] ?? 0);
    });
    const last = new Map(recent.map((r) => [r.anomaly_id, r]));
    const due = candidates.filter(({ a }) => {
      const prev = last.get(a.id);
      return !prev || at.getTime() - Number(prev.last_at) >= cooldownMs || (RANK[a.severity] ?? 0) > (RANK[prev.severity] ?? 0);
    });
    const room = Math.max(0, config.watch.maxPerHour - sentInLastHour);
    const sendNow = due.slice(0, room);
    const overflow = due.slice(room);

    const paused = await this.isPaused();
    const sent: Notification[] = [];
    for (const { a, change } of sendNow) {
      const webhook = this.deps.webhookUrl ? ((await this.postWebhook(discordPayload(a, change))) ? 'sent' : 'failed') : 'not_configured';
      const hook = await this.runHook(a, change, paused);
      const note: Notification = { ts: at.toISOString(), anomaly_id: a.id, change, severity: a.severity, summary: sanitizeUntrusted(a.summary, 500).text, webhook, hook };
      sent.push(note);
      await this.record(note);
    }
    if (overflow.length > 0) {
      // Over the hourly limit: one summary instead of a flood.
      const summary = `${overflow.length} more anomal${overflow.length === 1 ? 'y' : 'ies'} (hourly notification limit ${config.watch.maxPerHour}): ${overflow.map(({ a }) => `${a.rule} ${a.id}`).join(', ')}`.slice(0, 1800);
      const webhook = this.deps.webhookUrl ? ((await this.postWebhook({ content: `⚠️ selfscope: ${summary}`, allowed_mentions: { parse: [] } })) ? 'sent' : 'failed') : 'not_configured';
      for (const { a, change } of overflow) {
        const note: Notification = { ts: at.toISOString(), anomaly_id: a.id, change, severity: a.severity, summary: sanitizeUntrusted(a.summary, 500).text, webhook: webhook === 'sent' ? 'summarised' : webhook, hook: 'summarised' };
        sent.push(note);
        this.deps.emit(JSON.stringify(note));
      }
    }
    return sent;
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
