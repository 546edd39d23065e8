import type { LogQueryable } from '../logs/columns.js';
import { parseDuration } from '../logs/query.js';
import { subjectSql, type Anomaly } from './detect.js';
import { humanDuration } from '../text/durations.js';

/**
 * The spec's feedback loop: after a fix lands (a commit, a merge, a deploy event), compare
 * the metric of the incident's lead signal over equal windows before and after the marker.
 */

export type Verdict = 'fixed' | 'not_fixed' | 'regressed' | 'insufficient_data';

export interface WindowFigures {
  from: string;
  to: string;
  events: number;
  failures: number;
  metric: number | null;
}

export interface FixVerdict {
  verdict: Verdict;
  metric: string;
  before: WindowFigures;
  after: WindowFigures;
  explanation: string;
}

const MIN_EVENTS = 10;

export async function verifyFix(logs: LogQueryable, anomaly: Pick<Anomaly, 'rule' | 'subject' | 'expected'>, marker: Date, options: { window?: string; now?: Date } = {}): Promise<FixVerdict> {
  const now = options.now ?? new Date();
  const wanted = parseDuration(options.window ?? '1h') ?? 3_600_000;
  const span = Math.max(0, Math.min(wanted, now.getTime() - marker.getTime()));
  const before = { from: new Date(marker.getTime() - span), to: marker };
  const after = { from: marker, to: new Date(marker.getTime() + span) };
  const subject = subjectSql(anomaly);
  // A failure logged twice counts once, as the rules count it.
  const cond = { sql: `${subject.sql} AND NOT duplicate`, params: subject.params };
  // For error rules the metric needs every event of the operation, not only failures.
  const errorRules = anomaly.rule === 'repeated_error' || anomaly.rule === 'new_error';
  const measure = async (w: { from: Date; to: Date }): Promise<WindowFigures> => {
    const sql =
      anomaly.rule === 'latency_regression'
        ? `SELECT count(latency_ms) AS n, 0 AS f, quantile_cont(latency_ms, 0.95) AS m FROM logs WHERE ts >= ? AND ts < ? AND ${cond.sql}`
        : anomaly.rule === 'cost_spike'
          ? `SELECT count(*) AS n, 0 AS f, sum(usd_cost) AS m FROM logs WHERE ts >= ? AND ts < ? AND ${cond.sql}`
          : errorRules
            ? `SELECT (SELECT count(*) FROM logs WHERE ts >= ? AND ts < ? AND NOT duplicate) AS n, count(*) AS f, count(*) AS m FROM logs WHERE ts >= ? AND ts < ? AND ${cond.sql}`
            : `SELECT count(*) AS n, count(*) FILTER (WHERE is_failure) AS f, count(*) FILTER (WHERE is_failure) / greatest(count(*), 1) AS m FROM logs WHERE ts >= ? AND ts < ? AND ${cond.sql}`;
    const params = errorRules ? [w.from, w.to, w.from, w.to, ...cond.params] : [w.from, w.to, ...cond.params];
    const r = (await logs.all<Record<string, unknown>>(sql, params))[0] ?? {};
    return { from: w.from.toISOString(), to: w.to.toISOString(), events: Number(r['n'] ?? 0), failures: Number(r['f'] ?? 0), metric: r['m'] === null || r['m'] === undefined ? null : Number(r['m']) };
  };
  const b = await measure(before);
  const a = await measure(after);
  const metric = anomaly.rule === 'latency_regression' ? 'p95_ms' : anomaly.rule === 'cost_spike' ? 'usd' : errorRules ? 'failures' : 'error_rate';
  const enough = (w: WindowFigures) => (errorRules ? true : w.events >= MIN_EVENTS) && w.metric !== null;
  if (span < 60_000 || !enough(b) || !enough(a) || (errorRules && a.events < MIN_EVENTS)) {
    return { verdict: 'insufficient_data', metric, before: b, after: a, explanation: `Not enough events on both sides of the marker (need ${MIN_EVENTS}; before ${b.events}, after ${a.events}, window ${humanDuration(span)}). Check again later.` };
  }
  const bm = b.metric!;
  const am = a.metric!;
  const threshold = Number(anomaly.expected['threshold'] ?? 0);
  let verdict: Verdict;
  if (am > bm * 1.2 && am > 0) verdict = 'regressed';
  else if (am <= bm * 0.5 && (anomaly.rule !== 'error_rate' || am < threshold)) verdict = 'fixed';
  else verdict = 'not_fixed';
  const show = (m: number) => (metric === 'error_rate' ? `${Math.round(m * 1000) / 10}%` : metric === 'usd' ? `$${m.toFixed(3)}` : String(Math.round(m * 10) / 10));
  return {
    verdict,
    metric,
    before: b,
    after: a,
    explanation: `${metric} ${show(bm)} in the ${humanDuration(span)} before the marker, ${show(am)} in the ${humanDuration(span)} after: ${verdict.replace('_', ' ')}.`,
  };
}
