import { humanDuration } from '../../text/durations.js';
import { binomialTail, changePoint, durationScore, severityOf } from '../stats.js';
import { anomalyId, eventRows, frameOf, iso, MINUTE, operationFilter, operationSubject, pct, round, seriesBy, type Series } from './common.js';
import type { RuleDefinition, Signal } from './types.js';

/**
 * error_rate: an operation (its successes and failures together, each failure counted once)
 * failing more than its own baseline allows — a binomial tail test of the failures in the last
 * 10, 30 and 60 minutes against the subject's baseline rate, and a rate worth waking for.
 */
const rule: RuleDefinition = {
  name: 'error_rate',
  subject: 'operation',
  description: 'failure rate of an operation over its own baseline (binomial test)',
  async evaluate(ctx) {
    const t = ctx.thresholds;
    const frame = frameOf(ctx);
    const groups = seriesBy(frame, (await eventRows(ctx)).operations, operationSubject);
    const out: Signal[] = [];
    for (const { key: subject, series } of groups.values()) {
      if (!ctx.matches(subject['operation'] ?? null, subject['tool_name'] ?? null)) continue;
      if (series.last(frame.windows.at(-1)!).x === 0) continue;
      const signal = judge(subject, series, ctx.thresholds, frame.windows, ctx.baselineMs, ctx.at.getTime(), t.significance);
      if (signal) out.push(signal);
    }
    return out;
  },
};
export default rule;

function baselineRate(series: Series, spanStart: number, baselineMs: number): { p0: number; bn: number; bf: number } {
  const { x: bf, n: bn } = series.sum(spanStart - baselineMs, spanStart);
  // A small prior keeps a never-failing operation's rate above zero.
  return { p0: Math.min(0.99, (bf + 0.5) / (bn + 1)), bn, bf };
}

function test(series: Series, windows: number[], p0: number, t: RuleTh) {
  let best: { w: number; f: number; n: number; p: number } | null = null;
  for (const w of windows) {
    const { x: f, n } = series.last(w);
    if (n === 0) continue;
    const rate = f / n;
    if (f < t.errorRate.minFailures || rate < t.errorRate.threshold || rate < p0 * t.errorRate.baselineFactor) continue;
    const p = binomialTail(f, n, p0) * windows.length;
    if (!best || p < best.p) best = { w, f, n, p };
  }
  return best;
}

type RuleTh = Parameters<RuleDefinition['evaluate']>[0]['thresholds'];

function judge(subject: Record<string, string | null>, series: Series, t: RuleTh, windows: number[], baselineMs: number, at: number, alpha: number): Signal | null {
  const longest = windows.at(-1)!;
  let base = baselineRate(series, at - longest * MINUTE, baselineMs);
  let hit = test(series, windows, base.p0, t);
  if (!hit || hit.p > alpha) return null;
  // When did it begin: the change point of failures against the baseline rate, beyond the window.
  const e = Array.from(series.n, (n) => n * base.p0);
  const ratio = Math.min(50, hit.f / hit.n / base.p0);
  const i = changePoint(series.x, e, series.frame.minutes - hit.w, ratio);
  const onset = series.minuteTime(i);
  // The incident's own span stays out of its baseline.
  const spanStart = Math.min(onset, at - longest * MINUTE);
  base = baselineRate(series, spanStart, baselineMs);
  hit = test(series, windows, base.p0, t);
  if (!hit || hit.p > alpha) return null;
  const span = series.sum(onset, at + MINUTE);
  const rate = hit.f / hit.n;
  const impact = Math.min(2.2, 0.4 + rate / 0.25) + (span.x >= 100 ? 0.3 : 0);
  const score = round(impact + durationScore(at - onset), 2);
  const label = subject['operation'];
  return {
    id: anomalyId('error_rate', subject),
    rule: 'error_rate',
    subject,
    severity: severityOf(score),
    score,
    p_value: hit.p,
    window: { from: iso(at - hit.w * MINUTE), to: iso(at) },
    baseline: { from: iso(spanStart - baselineMs), to: iso(spanStart) },
    observed: { error_rate: round(rate), failures: hit.f, events: hit.n, span_failures: span.x, span_events: span.n },
    expected: { error_rate: round(base.p0, 4), threshold: t.errorRate.threshold, baseline_events: base.bn },
    onset: iso(onset),
    last_seen: iso(series.lastNonZero() ?? at),
    evidence_query: { since: iso(onset), until: iso(at), errors_only: true, ...operationFilter(subject) },
    summary: `${label} failing at ${pct(rate)} (${hit.f} of ${hit.n}) over the last ${humanDuration(hit.w * MINUTE)}, vs ${pct(base.p0)} usually; since ${iso(onset).slice(11, 16)} UTC (${humanDuration(at - onset)}).`,
  };
}
