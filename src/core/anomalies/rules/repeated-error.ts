import { sanitizeUntrusted } from '../../text/bounded.js';
import { humanDuration } from '../../text/durations.js';
import { changePoint, durationScore, poissonTail, severityOf } from '../stats.js';
import { anomalyId, bucketEnd, eventRows, rowKey, failureFrame, fingerprintFilter, frameOf, iso, MINUTE, round, Series, seriesBy, str } from './common.js';
import type { RuleDefinition, Signal } from './types.js';

/**
 * repeated_error: a known failure (one fingerprint, counted once per failure) happening more
 * often than usual — a Poisson test of its count in the last 10, 30 and 60 minutes against its
 * baseline share of the traffic, scaled by the traffic of those minutes (so the daily peak is
 * no alarm), corrected for the windows and the fingerprints tested. Failures never seen in
 * the baseline are new_error's.
 */
const rule: RuleDefinition = {
  name: 'repeated_error',
  subject: 'fingerprint',
  description: 'one error fingerprint more frequent than its traffic-scaled baseline (Poisson test)',
  async evaluate(ctx) {
    const t = ctx.thresholds;
    const frame = failureFrame(ctx);
    const { failures: all, operations: trafficRows } = await eventRows(ctx);
    // Only fingerprints frequent enough in the lookback are judged.
    const recentCount = new Map<string, number>();
    const keyOf = rowKey;
    for (const r of all) if (Number(r['b']) >= frame.recentStart) recentCount.set(keyOf(r), (recentCount.get(keyOf(r)) ?? 0) + Number(r['x']));
    const rows = all.filter((r) => (recentCount.get(keyOf(r)) ?? 0) >= t.repeatedError.count);
    if (!rows.length) return [];
    const traffic = new Series(frame);
    for (const r of trafficRows) traffic.add(Number(r['b']), Number(r['n']), Number(r['n']), bucketEnd(r));
    const groups = seriesBy(frame, rows, (r) => ({ kind: str(r['kind']), tool_name: str(r['tool_name']), fingerprint: str(r['fingerprint']) ?? '' }));
    const out: Signal[] = [];
    const at = ctx.at.getTime();
    const longest = frame.windows.at(-1)!;
    // Every chronic error is tested at every evaluation: the correction counts the fingerprints
    // judged as well as the windows, or one of many background errors clustering by chance
    // (15 connection resets in an hour against 3.4 expected, p = 3e-6) passes for an incident.
    const tests = frame.windows.length * Math.max(1, groups.size);
    for (const { key: subject, series } of groups.values()) {
      if (!ctx.matches(subject.kind, subject.tool_name, subject.fingerprint)) continue;
      const judgeAt = (spanStart: number) => {
        const b = series.sum(spanStart - ctx.baselineMs, spanStart);
        const bt = traffic.sum(spanStart - ctx.baselineMs, spanStart).n;
        if (b.x === 0 || bt === 0) return null;
        const share = b.x / bt;
        let best: { w: number; k: number; lambda: number; p: number } | null = null;
        for (const w of frame.windows) {
          const k = series.last(w).x;
          const lambda = share * traffic.last(w).n;
          if (k < t.repeatedError.count || k < lambda * t.repeatedError.baselineFactor) continue;
          const p = poissonTail(k, lambda) * tests;
          if (!best || p < best.p) best = { w, k, lambda, p };
        }
        return best && best.p <= t.significance ? { ...best, share, bx: b.x } : null;
      };
      let hit = judgeAt(at - longest * MINUTE);
      if (!hit) continue;
      const e = Array.from(traffic.n, (n) => n * hit!.share);
      const onset = series.minuteTime(changePoint(series.x, e, frame.minutes - hit.w, Math.min(50, hit.k / Math.max(hit.lambda, 1e-6))));
      const spanStart = Math.min(onset, at - longest * MINUTE);
      hit = judgeAt(spanStart);
      if (!hit) continue;
      const ratio = hit.k / Math.max(hit.lambda, 0.01);
      const score = round(0.7 + Math.min(1.3, Math.log10(ratio) * 0.6) + durationScore(at - onset), 2);
      const label = sanitizeUntrusted(subject.fingerprint, 160).text;
      const sub = { kind: subject.kind, tool_name: subject.tool_name, fingerprint: subject.fingerprint };
      out.push({
        id: anomalyId('repeated_error', sub),
        rule: 'repeated_error',
        subject: sub,
        severity: severityOf(score),
        score,
        p_value: hit.p,
        window: { from: iso(at - hit.w * MINUTE), to: iso(at) },
        baseline: { from: iso(spanStart - ctx.baselineMs), to: iso(spanStart) },
        observed: { count: hit.k, span_count: series.sum(onset, at + MINUTE).x },
        expected: { count: round(hit.lambda, 2), baseline_count: hit.bx, threshold: t.repeatedError.count },
        onset: iso(onset),
        last_seen: iso(series.lastNonZero() ?? at),
        evidence_query: { since: iso(onset), until: iso(at), errors_only: true, ...fingerprintFilter(sub) },
        summary: `The same error ${hit.k} times in the last ${humanDuration(hit.w * MINUTE)} (about ${round(hit.lambda, 1)} expected at this traffic)${sub.tool_name ? ` in ${sub.tool_name}` : ''}: "${label}".`,
      });
    }
    return out;
  },
};
export default rule;
