import { createHash } from 'node:crypto';
import type { ConfigFile } from '../../config/schema.js';
import { UserInputError } from '../errors.js';
import type { LogQueryable } from '../logs/columns.js';
import { parseDuration } from '../logs/query.js';
import { sanitizeUntrusted } from '../text/bounded.js';
import { humanDuration } from '../text/durations.js';

/**
 * The "notice" step: deterministic rules over the log index, no LLM. Each rule compares a
 * window (default the last 10 minutes) with a baseline (the 7 days before it), per subject,
 * in SQL: one aggregate query per rule, whatever the size of the log.
 *
 * Subjects: an *operation* for rates, latency and cost — the tool name where there is one,
 * else the kind without its _call/_error/_failed/_runtime suffix, with its agent (so
 * `voice_runtime` successes and `voice_error` failures of music_queue_add are one subject);
 * the failure *fingerprint* (with kind and tool) for repeated and new errors.
 */

export const RULES = ['error_rate', 'repeated_error', 'latency_regression', 'new_error', 'cost_spike'] as const;
export type Rule = (typeof RULES)[number];
export type Severity = 'low' | 'medium' | 'high' | 'critical';

export interface Anomaly {
  id: string;
  rule: Rule;
  subject: Record<string, string | null>;
  severity: Severity;
  score: number;
  window: { from: string; to: string };
  baseline: { from: string; to: string };
  observed: Record<string, number | null>;
  expected: Record<string, number | null>;
  onset: string | null;
  last_seen: string | null;
  samples: Array<{ id: string; ts: string; event: string; error: string | null; untrusted: true }>;
  evidence_query: Record<string, unknown>;
  summary: string;
}

export type Thresholds = ConfigFile['anomalies'];

export interface DetectOptions {
  at?: Date;
  window?: string;
  baseline?: string;
  rules?: Rule[];
  /** Only subjects whose operation, fingerprint, kind or agent contains this text. */
  subject?: string;
  thresholds: Thresholds;
}

const OPERATION = `coalesce(tool_name, regexp_replace(coalesce(kind, 'unknown'), '_(error|call|failed|runtime)$', ''))`;

export function anomalyId(rule: Rule, subject: Record<string, string | null>): string {
  const key = JSON.stringify([rule, Object.keys(subject).sort().map((k) => [k, subject[k]])]);
  return `an-${createHash('sha1').update(key).digest('hex').slice(0, 12)}`;
}

function severityOf(score: number): Severity {
  return score >= 3 ? 'critical' : score >= 2 ? 'high' : score >= 1.3 ? 'medium' : 'low';
}

function pct(x: number | null | undefined): string {
  return x === null || x === undefined ? '?' : `${Math.round(x * 1000) / 10}%`;
}

function iso(d: Date): string {
  return d.toISOString();
}

function num(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

export async function detectAnomalies(logs: LogQueryable, options: DetectOptions): Promise<Anomaly[]> {
  const t = options.thresholds;
  const at = options.at ?? new Date();
  const windowMs = parseDuration(options.window ?? t.window);
  const baselineMs = parseDuration(options.baseline ?? t.baseline);
  if (windowMs === null || windowMs < 60_000) throw new UserInputError('window must be a duration of at least 1m (e.g. 10m, 1h).', { hint: 'Pass window: "10m".' });
  if (baselineMs === null || baselineMs < windowMs) throw new UserInputError('baseline must be a duration at least as long as the window (e.g. 7d).', { hint: 'Pass baseline: "7d".' });
  const w0 = new Date(at.getTime() - windowMs);
  const b0 = new Date(w0.getTime() - baselineMs);
  // A log younger than the baseline period: average over the part of it that exists.
  const first = await logs.all<{ first: number | null }>('SELECT epoch_ms(min(ts)) AS first FROM logs WHERE ts >= ? AND ts < ?', [b0, w0]);
  const coveredMs = first[0]?.first === null || first[0]?.first === undefined ? baselineMs : Math.max(windowMs, w0.getTime() - Math.max(b0.getTime(), Number(first[0].first)));
  const windowsInBaseline = coveredMs / windowMs;
  const rules = new Set(options.rules ?? RULES);
  const filter = options.subject ? options.subject.toLowerCase() : null;
  const out: Anomaly[] = [];
  const range = { window: { from: iso(w0), to: iso(at) }, baseline: { from: iso(b0), to: iso(w0) } };
  const base = [b0, w0, at];

  const matches = (...values: Array<string | null>) => filter === null || values.some((v) => v !== null && v.toLowerCase().includes(filter));

  if (rules.has('error_rate')) {
    const rows = await logs.all<Record<string, unknown>>(
      `SELECT agent, ${OPERATION} AS operation,
              count(*) FILTER (WHERE ts >= $2) AS n, count(*) FILTER (WHERE ts >= $2 AND is_failure) AS f,
              count(*) FILTER (WHERE ts < $2) AS bn, count(*) FILTER (WHERE ts < $2 AND is_failure) AS bf,
              mode(error) FILTER (WHERE ts >= $2 AND is_failure) AS top_error, bool_or(tool_name IS NOT NULL) AS has_tool
       FROM logs WHERE ts >= $1 AND ts < $3
       GROUP BY ALL HAVING count(*) FILTER (WHERE ts >= $2) >= ${Math.floor(t.errorRate.minSamples)}`,
      base,
    );
    for (const r of rows) {
      const n = Number(r['n']);
      const f = Number(r['f']);
      const bn = Number(r['bn']);
      const bf = Number(r['bf']);
      const rate = f / n;
      const baseRate = bn > 0 ? bf / bn : 0;
      if (rate < t.errorRate.threshold || rate < baseRate * t.errorRate.baselineFactor || f === 0) continue;
      const subject = { agent: (r['agent'] as string | null) ?? null, operation: String(r['operation']) };
      if (!matches(subject.agent, subject.operation)) continue;
      const score = rate / t.errorRate.threshold + (baseRate === 0 ? 0.5 : Math.min(1, rate / baseRate / 10));
      const top = r['top_error'] ? sanitizeUntrusted(String(r['top_error']), 120).text : null;
      out.push({
        id: anomalyId('error_rate', subject),
        rule: 'error_rate',
        subject,
        severity: severityOf(score),
        score,
        ...range,
        observed: { error_rate: rate, failures: f, events: n },
        expected: { error_rate: baseRate, threshold: t.errorRate.threshold, baseline_events: bn },
        onset: null,
        last_seen: null,
        samples: [],
        evidence_query: { since: iso(w0), until: iso(at), errors_only: true, ...subjectFilter(subject, Boolean(r['has_tool'])) },
        summary: `${subject.operation}${subject.agent ? ` (${subject.agent})` : ''} failing at ${pct(rate)} (${f} of ${n}) over the last ${humanDuration(windowMs)}, vs ${pct(baseRate)} in the ${humanDuration(baselineMs)} before${top ? `; mostly "${top}"` : ''}.`,
      });
    }
  }

  if (rules.has('repeated_error') || rules.has('new_error')) {
    const rows = await logs.all<Record<string, unknown>>(
      `SELECT kind, tool_name, fingerprint, agent,
              count(*) FILTER (WHERE ts >= $2) AS n, count(*) FILTER (WHERE ts < $2) AS bn,
              any_value(error) FILTER (WHERE ts >= $2) AS example
       FROM logs WHERE ts >= $1 AND ts < $3 AND is_failure
       GROUP BY ALL HAVING count(*) FILTER (WHERE ts >= $2) >= ${Math.min(t.repeatedError.count, t.newError.count)}`,
      base,
    );
    for (const r of rows) {
      const n = Number(r['n']);
      const bn = Number(r['bn']);
      const subject = { kind: (r['kind'] as string | null) ?? null, tool_name: (r['tool_name'] as string | null) ?? null, fingerprint: String(r['fingerprint']) };
      if (!matches(subject.kind, subject.tool_name, subject.fingerprint, (r['agent'] as string | null) ?? null)) continue;
      const label = sanitizeUntrusted(subject.fingerprint, 160).text;
      const perWindow = bn / windowsInBaseline;
      if (rules.has('new_error') && bn === 0 && n >= t.newError.count) {
        const score = 1 + n / (t.newError.count * 3);
        out.push({
          id: anomalyId('new_error', subject),
          rule: 'new_error',
          subject,
          severity: severityOf(score),
          score,
          ...range,
          observed: { count: n },
          expected: { baseline_count: 0 },
          onset: null,
          last_seen: null,
          samples: [],
          evidence_query: { since: iso(w0), until: iso(at), errors_only: true, ...fingerprintFilter(subject) },
          summary: `A new error, never seen in the ${humanDuration(baselineMs)} before: "${label}" — ${n} times in the last ${humanDuration(windowMs)}${subject.tool_name ? ` (${subject.tool_name})` : ''}.`,
        });
      }
      if (rules.has('repeated_error') && n >= t.repeatedError.count && n >= perWindow * t.repeatedError.baselineFactor) {
        const score = n / t.repeatedError.count + (perWindow > 0 ? Math.min(1, n / perWindow / 10) : 0.5);
        out.push({
          id: anomalyId('repeated_error', subject),
          rule: 'repeated_error',
          subject,
          severity: severityOf(score),
          score,
          ...range,
          observed: { count: n },
          expected: { per_window: Math.round(perWindow * 100) / 100, threshold: t.repeatedError.count },
          onset: null,
          last_seen: null,
          samples: [],
          evidence_query: { since: iso(w0), until: iso(at), errors_only: true, ...fingerprintFilter(subject) },
          summary: `The same error ${n} times in the last ${humanDuration(windowMs)} (usually ${Math.round(perWindow * 10) / 10} per ${humanDuration(windowMs)}): "${label}".`,
        });
      }
    }
  }

  if (rules.has('latency_regression')) {
    const rows = await logs.all<Record<string, unknown>>(
      `SELECT agent, ${OPERATION} AS operation,
              count(latency_ms) FILTER (WHERE ts >= $2) AS n, quantile_cont(latency_ms, 0.95) FILTER (WHERE ts >= $2) AS p95,
              count(latency_ms) FILTER (WHERE ts < $2) AS bn, quantile_cont(latency_ms, 0.95) FILTER (WHERE ts < $2) AS bp95
              , bool_or(tool_name IS NOT NULL) AS has_tool
       FROM logs WHERE ts >= $1 AND ts < $3 AND latency_ms IS NOT NULL
       GROUP BY ALL HAVING count(latency_ms) FILTER (WHERE ts >= $2) >= ${Math.floor(t.latencyRegression.minSamples)}
                       AND count(latency_ms) FILTER (WHERE ts < $2) >= ${Math.floor(t.latencyRegression.minBaselineSamples)}`,
      base,
    );
    for (const r of rows) {
      const p95 = num(r['p95']);
      const bp95 = num(r['bp95']);
      if (p95 === null || bp95 === null || bp95 <= 0 || p95 < bp95 * t.latencyRegression.factor) continue;
      const subject = { agent: (r['agent'] as string | null) ?? null, operation: String(r['operation']) };
      if (!matches(subject.agent, subject.operation)) continue;
      const ratio = p95 / bp95;
      const score = ratio / t.latencyRegression.factor + 0.3;
      out.push({
        id: anomalyId('latency_regression', subject),
        rule: 'latency_regression',
        subject,
        severity: severityOf(score),
        score,
        ...range,
        observed: { p95_ms: Math.round(p95), samples: Number(r['n']) },
        expected: { p95_ms: Math.round(bp95), baseline_samples: Number(r['bn']), factor: t.latencyRegression.factor },
        onset: null,
        last_seen: null,
        samples: [],
        evidence_query: { mode: 'aggregate', since: iso(b0), until: iso(at), bucket: '1h', metrics: ['count', 'p95'], ...subjectFilter(subject, Boolean(r['has_tool'])) },
        summary: `${subject.operation}${subject.agent ? ` (${subject.agent})` : ''} p95 latency ${Math.round(p95)} ms over the last ${humanDuration(windowMs)}, ${Math.round(ratio * 10) / 10}× its ${Math.round(bp95)} ms baseline.`,
      });
    }
  }

  if (rules.has('cost_spike')) {
    const rows = await logs.all<Record<string, unknown>>(
      `SELECT agent, sum(usd_cost) FILTER (WHERE ts >= $2) AS c, sum(usd_cost) FILTER (WHERE ts < $2) AS bc
       FROM logs WHERE ts >= $1 AND ts < $3 AND usd_cost > 0 GROUP BY ALL`,
      base,
    );
    for (const r of rows) {
      const perHour = (Number(r['c'] ?? 0) * 3_600_000) / windowMs;
      const basePerHour = (Number(r['bc'] ?? 0) * 3_600_000) / coveredMs;
      if (perHour < t.costSpike.floorUsdPerHour || perHour < basePerHour * t.costSpike.factor) continue;
      const subject = { agent: (r['agent'] as string | null) ?? null };
      if (!matches(subject.agent)) continue;
      const ratio = basePerHour > 0 ? perHour / basePerHour : Infinity;
      const score = Math.min(ratio / t.costSpike.factor, 4) + perHour / (t.costSpike.floorUsdPerHour * 10);
      out.push({
        id: anomalyId('cost_spike', subject),
        rule: 'cost_spike',
        subject,
        severity: severityOf(score),
        score,
        ...range,
        observed: { usd_per_hour: Math.round(perHour * 1000) / 1000 },
        expected: { usd_per_hour: Math.round(basePerHour * 1000) / 1000, floor: t.costSpike.floorUsdPerHour },
        onset: null,
        last_seen: null,
        samples: [],
        evidence_query: { mode: 'aggregate', since: iso(w0), until: iso(at), agent: subject.agent ?? undefined, group_by: ['event'], metrics: ['count', 'cost'] },
        summary: `${subject.agent ?? 'unattributed'} is spending $${perHour.toFixed(2)}/h over the last ${humanDuration(windowMs)}, ${Number.isFinite(ratio) ? `${Math.round(ratio * 10) / 10}×` : 'far above'} its $${basePerHour.toFixed(2)}/h baseline.`,
      });
    }
  }

  out.sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
  for (const anomaly of out.slice(0, 25)) await enrich(logs, anomaly, w0, at, options.thresholds.maxSamples);
  return out.slice(0, 25);
}

/** query_runtime_logs filters for an operation: its tool, or the kinds it was derived from. */
function subjectFilter(subject: Record<string, string | null>, isTool: boolean): Record<string, unknown> {
  const op = subject['operation'];
  const agent = subject['agent'];
  return {
    ...(agent ? { agent } : {}),
    ...(op ? (isTool ? { where: [{ path: 'tool_name', equals: op }] } : { kind: [op, `${op}_*`] }) : {}),
  };
}

function fingerprintFilter(subject: Record<string, string | null>): Record<string, unknown> {
  return {
    ...(subject['kind'] ? { kind: subject['kind'] } : {}),
    where: [{ path: 'fingerprint', equals: subject['fingerprint'] }, ...(subject['tool_name'] ? [{ path: 'tool_name', equals: subject['tool_name'] }] : [])],
  };
}

/** The SQL condition selecting an anomaly's events (failures for error rules). */
export function subjectSql(anomaly: Pick<Anomaly, 'rule' | 'subject'>): { sql: string; params: unknown[] } {
  const s = anomaly.subject;
  if (anomaly.rule === 'repeated_error' || anomaly.rule === 'new_error') {
    return {
      sql: `is_failure AND fingerprint = ? AND kind IS NOT DISTINCT FROM ? AND tool_name IS NOT DISTINCT FROM ?`,
      params: [s['fingerprint'], s['kind'], s['tool_name']],
    };
  }
  if (anomaly.rule === 'cost_spike') return { sql: 'usd_cost > 0 AND agent IS NOT DISTINCT FROM ?', params: [s['agent']] };
  return { sql: `agent IS NOT DISTINCT FROM ? AND ${OPERATION} = ?`, params: [s['agent'], s['operation']] };
}

/** Onset, last seen and samples, for the few anomalies that fired. */
async function enrich(logs: LogQueryable, anomaly: Anomaly, from: Date, to: Date, maxSamples: number): Promise<void> {
  const cond = subjectSql(anomaly);
  const failureOnly = anomaly.rule === 'error_rate' ? ' AND is_failure' : '';
  const minute = await logs.all<Record<string, unknown>>(
    `SELECT strftime(min(ts), '%Y-%m-%dT%H:%M:%S.%gZ') AS first, strftime(max(ts), '%Y-%m-%dT%H:%M:%S.%gZ') AS last FROM logs WHERE ts >= ? AND ts < ? AND ${cond.sql}${failureOnly}`,
    [from, to, ...cond.params],
  );
  anomaly.onset = (minute[0]?.['first'] as string | null) ?? null;
  anomaly.last_seen = (minute[0]?.['last'] as string | null) ?? null;
  if (anomaly.rule === 'error_rate') {
    // The onset is the first minute in which the failure rate crossed the threshold.
    const buckets = await logs.all<Record<string, unknown>>(
      `SELECT strftime(time_bucket(INTERVAL 1 MINUTE, ts), '%Y-%m-%dT%H:%M:%SZ') AS b, count(*) AS n, count(*) FILTER (WHERE is_failure) AS f
       FROM logs WHERE ts >= ? AND ts < ? AND ${cond.sql} GROUP BY 1 ORDER BY 1`,
      [from, to, ...cond.params],
    );
    const threshold = Number(anomaly.expected['threshold'] ?? 0.3);
    const crossed = buckets.find((b) => Number(b['f']) > 0 && Number(b['f']) / Number(b['n']) >= threshold);
    if (crossed) anomaly.onset = String(crossed['b']);
  }
  if (maxSamples <= 0) return;
  const order = anomaly.rule === 'latency_regression' ? 'latency_ms DESC NULLS LAST' : anomaly.rule === 'cost_spike' ? 'usd_cost DESC' : 'ts DESC';
  const samples = await logs.all<Record<string, unknown>>(
    `SELECT id, strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') AS ts, event, error FROM logs WHERE ts >= ? AND ts < ? AND ${cond.sql}${failureOnly} ORDER BY ${order} LIMIT ${Math.floor(maxSamples)}`,
    [from, to, ...cond.params],
  );
  anomaly.samples = samples.map((s) => ({
    id: String(s['id']),
    ts: String(s['ts']),
    event: sanitizeUntrusted(String(s['event'] ?? ''), 200).text,
    error: s['error'] === null || s['error'] === undefined ? null : sanitizeUntrusted(String(s['error']), 300).text,
    untrusted: true as const,
  }));
}
