import { UserInputError } from '../errors.js';
import type { LogQueryable } from '../logs/columns.js';
import { parseDuration } from '../logs/query.js';
import { sanitizeUntrusted } from '../text/bounded.js';
import type { DetectCache } from './cache.js';
import { anomalyId, frameOf } from './rules/common.js';
import { RULE_TABLE, RULES, type Rule, type RuleContext, type Signal, type Thresholds } from './rules/index.js';
import { SEVERITY_RANK, severityOf, type Severity } from './stats.js';

/**
 * The "notice" step: deterministic rules over the log index, no LLM. Each rule (one file under
 * rules/, its SQL and its judgement) tests its subjects against their own baseline — binomial,
 * Poisson and seasonal tests, not fixed counts — and dates each finding's onset beyond the
 * window. Findings of one problem (the same operation or tool, or the same traces, at the
 * same time) are grouped into one incident: one anomaly, one id, one message.
 */

export { RULES, anomalyId, type Rule, type Signal, type Severity, type Thresholds };

export interface Anomaly extends Omit<Signal, 'p_value'> {
  /** The incident's id: its lead signal's, kept by the anomaly state while any member fires. The rule and subject are the lead's: what the incident is mostly about. */
  id: string;
  samples: Array<{ id: string; ts: string; event: string; error: string | null; untrusted: true }>;
  /** Every rule finding grouped in this incident, the lead first. */
  signals: Signal[];
}

export interface DetectOptions {
  at?: Date;
  window?: string;
  baseline?: string;
  rules?: Rule[];
  /** Only subjects whose operation, tool, fingerprint, kind or agent contains this text. */
  subject?: string;
  thresholds: Thresholds;
  /** Kept between evaluations by a caller that evaluates often (the watcher, the server). */
  cache?: DetectCache;
}

const MAX_INCIDENTS = 25;
// The lead of an incident: what the on-call person acts on first (and verify_fix measures).
const LEAD_ORDER: Rule[] = ['error_rate', 'latency_regression', 'cost_spike', 'repeated_error', 'new_error'];
const MIN_BASELINE = 20;
const ERROR_RULES = new Set<Rule>(['error_rate', 'repeated_error', 'new_error']);
// Spans are compared with this slack: a failure burst and the slowness it causes overlap loosely.
const SPAN_SLACK_MS = 15 * 60_000;

export function resolveTimes(options: Pick<DetectOptions, 'window' | 'baseline' | 'thresholds'>): { windowMs: number; baselineMs: number; lookbackMs: number } {
  const t = options.thresholds;
  const windowMs = parseDuration(options.window ?? t.window);
  const baselineMs = parseDuration(options.baseline ?? t.baseline);
  const lookbackMs = parseDuration(t.lookback);
  if (windowMs === null || windowMs < 60_000) throw new UserInputError('window must be a duration of at least 1m (e.g. 10m, 1h).', { hint: 'Pass window: "10m".' });
  if (baselineMs === null || baselineMs < windowMs) throw new UserInputError('baseline must be a duration at least as long as the window (e.g. 7d).', { hint: 'Pass baseline: "7d".' });
  if (lookbackMs === null || lookbackMs < windowMs) throw new UserInputError('anomalies.lookback must be a duration at least as long as the window (e.g. 6h).', { hint: 'Set anomalies.lookback to "6h".' });
  return { windowMs, baselineMs, lookbackMs: Math.max(lookbackMs, 6 * windowMs) };
}

/** Every rule's findings, ungrouped. */
export async function detectSignals(logs: LogQueryable, options: DetectOptions): Promise<Signal[]> {
  const times = resolveTimes(options);
  const filter = options.subject ? options.subject.toLowerCase() : null;
  const ctx: RuleContext = {
    logs,
    at: options.at ?? new Date(),
    ...times,
    thresholds: options.thresholds,
    cache: options.cache,
    memo: new Map(),
    matches: (...values) => filter === null || values.some((v) => v !== null && v.toLowerCase().includes(filter)),
  };
  if (options.cache) await options.cache.checkSettled(logs, frameOf(ctx).recentStart, ctx.at.getTime());
  const wanted = new Set(options.rules ?? RULES);
  // Together: one rule judges its rows while the index runs the next rule's query.
  const found = await Promise.all(RULE_TABLE.filter((rule) => wanted.has(rule.name)).map((rule) => rule.evaluate(ctx)));
  return found.flat();
}

export async function detectAnomalies(logs: LogQueryable, options: DetectOptions): Promise<Anomaly[]> {
  const signals = await detectSignals(logs, options);
  const at = options.at ?? new Date();
  const traces = signals.length > 1 ? await traceKeys(logs, signals, at) : new Map<string, Set<string>>();
  const incidents = groupSignals(signals, traces).map(toIncident);
  incidents.sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
  const kept = incidents.slice(0, MAX_INCIDENTS);
  for (const incident of kept) await addSamples(logs, incident, at, options.thresholds.maxSamples);
  return kept;
}

/** The operation a finding is about: its tool, else the operation its kind belongs to. */
function operationKey(s: Signal): string | null {
  if (s.rule === 'cost_spike') return s.subject['agent'] ? `agent:${s.subject['agent']}` : null;
  if (s.subject['tool_name']) return `tool:${s.subject['tool_name']}`;
  if (s.rule === 'error_rate' || s.rule === 'latency_regression') return `op:${s.subject['operation']}`;
  const kind = s.subject['kind'];
  return kind ? `op:${kind.replace(/_(call|error|failed|runtime)$/, '')}` : null;
}

function spanOf(s: Signal): [number, number] {
  const from = Date.parse(s.onset ?? s.window.from);
  const to = Date.parse(s.last_seen ?? s.window.to);
  return [from, Math.max(from, to)];
}

function overlap(a: Signal, b: Signal): boolean {
  const [a0, a1] = spanOf(a);
  const [b0, b1] = spanOf(b);
  return a0 <= b1 + SPAN_SLACK_MS && b0 <= a1 + SPAN_SLACK_MS;
}

/**
 * Groups findings into incidents: spans that overlap, and the same operation (a tool's error
 * rate, its new and repeated errors, its latency) or the same traces (session, call, turn,
 * message). Findings that only start together stay apart: many tools failing at once can be
 * many problems, and each keeps its own id.
 */
export function groupSignals(signals: Signal[], traces: Map<string, Set<string>> = new Map()): Signal[][] {
  const parent = signals.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  const union = (i: number, j: number) => {
    parent[find(i)] = find(j);
  };
  for (let i = 0; i < signals.length; i++) {
    for (let j = i + 1; j < signals.length; j++) {
      const a = signals[i]!;
      const b = signals[j]!;
      if (!overlap(a, b)) continue;
      const ka = operationKey(a);
      const sameOperation = ka !== null && ka === operationKey(b);
      const ta = traces.get(a.id);
      const tb = traces.get(b.id);
      const sharedTrace = ta !== undefined && tb !== undefined && [...ta].some((k) => tb.has(k));
      if (sameOperation || sharedTrace) union(i, j);
    }
  }
  const groups = new Map<number, Signal[]>();
  signals.forEach((s, i) => groups.set(find(i), [...(groups.get(find(i)) ?? []), s]));
  // A subject judged against a baseline of its own leads one without (a new operation that only fails).
  const based = (s: Signal) => (Number(s.expected['baseline_events'] ?? s.expected['baseline_samples'] ?? s.expected['baseline_count'] ?? 0) >= MIN_BASELINE ? 0 : 1);
  return [...groups.values()].map((g) => g.sort((a, b) => LEAD_ORDER.indexOf(a.rule) - LEAD_ORDER.indexOf(b.rule) || based(a) - based(b) || b.score - a.score || a.id.localeCompare(b.id)));
}

function toIncident(members: Signal[]): Anomaly {
  const lead = members[0]!;
  const rules = new Set(members.map((m) => m.rule));
  const score = Math.round((Math.max(...members.map((m) => m.score)) + 0.2 * (rules.size - 1)) * 100) / 100;
  const onsets = members.map((m) => m.onset).filter((o): o is string => o !== null).sort();
  const lasts = members.map((m) => m.last_seen).filter((o): o is string => o !== null).sort();
  const others = members.slice(1);
  const also = others.length ? ` Also: ${others.slice(0, 3).map((m) => m.summary).join(' ')}${others.length > 3 ? ` (+${others.length - 3} more)` : ''}` : '';
  return {
    id: anomalyId(lead.rule, lead.subject),
    rule: lead.rule,
    subject: lead.subject,
    severity: severityOf(score),
    score,
    window: lead.window,
    baseline: lead.baseline,
    observed: lead.observed,
    expected: lead.expected,
    onset: onsets[0] ?? lead.onset,
    last_seen: lasts.at(-1) ?? lead.last_seen,
    samples: [],
    evidence_query: lead.evidence_query,
    summary: `${lead.summary}${also}`,
    signals: members,
  };
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return SEVERITY_RANK[a] >= SEVERITY_RANK[b] ? a : b;
}

/** The SQL condition selecting an anomaly's events (failures for error rules). */
export function subjectSql(anomaly: Pick<Anomaly, 'rule' | 'subject'>): { sql: string; params: unknown[] } {
  const s = anomaly.subject;
  if (anomaly.rule === 'repeated_error' || anomaly.rule === 'new_error') {
    const fp = s['fingerprint'] !== undefined;
    return {
      sql: `is_failure${fp ? ' AND fingerprint = ?' : ''} AND kind IS NOT DISTINCT FROM ? AND tool_name IS NOT DISTINCT FROM ?`,
      params: [...(fp ? [s['fingerprint']] : []), s['kind'] ?? null, s['tool_name'] ?? null],
    };
  }
  if (anomaly.rule === 'cost_spike') return { sql: 'usd_cost > 0 AND agent IS NOT DISTINCT FROM ?', params: [s['agent'] ?? null] };
  if (!('tool_name' in s)) return { sql: `coalesce(tool_name, operation) = ?`, params: [s['operation']] };
  return s['tool_name'] ? { sql: 'tool_name = ?', params: [s['tool_name']] } : { sql: 'tool_name IS NULL AND operation = ?', params: [s['operation']] };
}

const TRACE_COLUMNS = ['session_id', 'call_id', 'turn_id', 'trigger_message_id'] as const;

/** The traces (session, call, turn, trigger) each finding's recent failing events belong to. */
async function traceKeys(logs: LogQueryable, signals: Signal[], at: Date): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const s of signals) {
    if (!ERROR_RULES.has(s.rule)) continue;
    const cond = subjectSql(s);
    const rows = await logs.all<Record<string, string | null>>(
      `SELECT ${TRACE_COLUMNS.join(', ')} FROM logs WHERE ts >= ?::TIMESTAMP AND ts < ?::TIMESTAMP AND is_failure AND ${cond.sql} ORDER BY ts DESC LIMIT 100`,
      [new Date(Date.parse(s.onset ?? s.window.from)), at, ...cond.params],
    );
    const keys = new Set<string>();
    for (const r of rows) for (const c of TRACE_COLUMNS) if (r[c]) keys.add(`${c}:${r[c]}`);
    out.set(s.id, keys);
  }
  return out;
}

/** Sample events of the lead finding, newest (or slowest, or costliest) first. */
async function addSamples(logs: LogQueryable, anomaly: Anomaly, at: Date, maxSamples: number): Promise<void> {
  if (maxSamples <= 0) return;
  const cond = subjectSql(anomaly);
  const failureOnly = anomaly.rule === 'error_rate' ? ' AND is_failure' : '';
  const order = anomaly.rule === 'latency_regression' ? 'latency_ms DESC NULLS LAST' : anomaly.rule === 'cost_spike' ? 'usd_cost DESC' : 'ts DESC';
  const from = new Date(Date.parse(anomaly.onset ?? anomaly.window.from));
  const samples = await logs.all<Record<string, unknown>>(
    `SELECT id, strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') AS ts, event, error FROM logs WHERE ts >= ?::TIMESTAMP AND ts < ?::TIMESTAMP AND ${cond.sql}${failureOnly} ORDER BY ${order} LIMIT ${Math.floor(maxSamples)}`,
    [from, at, ...cond.params],
  );
  anomaly.samples = samples.map((s) => ({
    id: String(s['id']),
    ts: String(s['ts']),
    event: sanitizeUntrusted(String(s['event'] ?? ''), 200).text,
    error: s['error'] === null || s['error'] === undefined ? null : sanitizeUntrusted(String(s['error']), 300).text,
    untrusted: true as const,
  }));
}
