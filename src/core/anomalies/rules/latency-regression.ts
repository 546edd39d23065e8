import { humanDuration } from '../../text/durations.js';
import { binomialTail, changePoint, durationScore, severityOf } from '../stats.js';
import { anomalyId, frameOf, iso, MINUTE, operationBaseline, operationFilter, operationSubject, packedAll, round, seriesByColumns } from './common.js';
import type { RuleDefinition, Signal } from './types.js';

/**
 * latency_regression: an operation slower than its own baseline. The baseline quantiles (p50,
 * p95, p99) are read before the lookback (outside the incident's own span) and only with
 * enough samples; a window is judged only with enough samples. Two findings:
 * - a regression: more calls above the baseline p95 than the 5% chance allows (binomial
 *   test), and at least 5% above `factor` times it (the window's p95 is that much slower);
 * - a drift, which a slow regression is long before it doubles: over the 3× and 6× windows,
 *   under way in the window's older half too, a quarter of the calls above the baseline p95
 *   (the window's p75 past it), and more calls above the baseline median or
 *   p99 than chance allows (binomial tests against 50% and 1%; the p99 test sees a shift
 *   of a third within the hour at a few calls a minute).
 * Every test of every window counts in the Bonferroni correction.
 */
const DRIFT_SHARE = 0.25;

const rule: RuleDefinition = {
  name: 'latency_regression',
  subject: 'operation',
  description: 'p95 latency of an operation at factor× its baseline, or a sustained drift past its baseline quantiles (binomial tests)',
  async evaluate(ctx) {
    const t = ctx.thresholds.latencyRegression;
    const frame = frameOf(ctx);
    // The baseline moves by whole hours: read once an hour with a cache. Its quantiles come
    // from the scan of the baseline the error rules read without a cache (see SAMPLE_MIN).
    const read = async () => (await operationBaseline(ctx)).filter((r) => Number(r['nl']) >= t.minBaselineSamples).map((r) => ({ operation: r['operation'], n: r['nl'], q: r['q'] }));
    const stamp = `${frame.from}-${frame.recentStart}`;
    const baselineRows = ctx.cache ? await ctx.cache.once(`latency:${t.minBaselineSamples}`, stamp, read) : await read();
    const thresholds: Array<{ operation: string; subject: Record<string, string | null>; p50: number; p95: number; p99: number; n: number }> = [];
    for (const r of baselineRows) {
      const subject = operationSubject(r);
      const qs = Array.from(r['q'] as ArrayLike<unknown>, Number);
      const [p50, p95, p99] = [qs[0] ?? 0, qs[1] ?? 0, qs[2] ?? 0];
      if (p95 > 0 && ctx.matches(subject['operation'] ?? null, subject['tool_name'] ?? null)) thresholds.push({ operation: String(r['operation']), subject, p50, p95, p99, n: Number(r['n']) });
    }
    if (!thresholds.length) return [];
    const values = thresholds.map(() => '(?::VARCHAR, ?::DOUBLE, ?::DOUBLE, ?::DOUBLE, ?::DOUBLE)').join(', ');
    const params: unknown[] = thresholds.flatMap((th) => [th.operation, th.p50, th.p95, th.p99, th.p95 * t.factor]);
    // An equality join on one key: a hash join, whatever the number of subjects.
    const query = (lo: number, hi: number) =>
      packedAll(
        ctx.logs,
        `WITH thr(operation, t50, t1, t99, t2) AS (VALUES ${values})
         SELECT thr.operation, (epoch_us(l.ts) // ${MINUTE * 1000}) * ${MINUTE} AS b, count(*) AS n, count(*) FILTER (WHERE l.latency_ms > thr.t1) AS x,
           count(*) FILTER (WHERE l.latency_ms > thr.t2) AS x2, count(*) FILTER (WHERE l.latency_ms > thr.t50) AS x50, count(*) FILTER (WHERE l.latency_ms > thr.t99) AS x99
         FROM logs l JOIN thr ON thr.operation = l.operation
         WHERE l.ts >= ?::TIMESTAMP AND l.ts < ?::TIMESTAMP AND l.latency_ms IS NOT NULL AND NOT l.duplicate GROUP BY ALL`,
        [...params, new Date(lo), new Date(hi)],
        { keys: ['operation'], values: ['b', 'n', 'x', 'x2', 'x50', 'x99'] },
      );
    // The thresholds change with the baseline, once an hour, and with the subjects asked for: so does the key of the kept minutes.
    const key = `latency:${stamp}:${t.factor}:${t.minBaselineSamples}:${thresholds.map((th) => th.operation).join('\u0001')}`;
    const rows = ctx.cache ? await ctx.cache.minutes(key, frame.recentStart, frame.at, query) : await query(frame.recentStart, frame.at);
    const groups = seriesByColumns(frame, rows, operationSubject, ['x', 'x2', 'x50', 'x99']);
    const at = ctx.at.getTime();
    const out: Signal[] = [];
    const tests = frame.windows.length * 3;
    for (const th of thresholds) {
      const k = JSON.stringify(th.subject);
      const [series, slow, above50, above99] = groups.get(k)?.series ?? [];
      if (!series || !slow || !above50 || !above99) continue;
      let best: { w: number; n: number; x: number; x2: number; p: number; drift: boolean; onsetOf: { x: Float64Array; share: number } } | null = null;
      for (const w of frame.windows) {
        const { x, n } = series.last(w);
        if (n < t.minSamples) continue;
        const x2 = slow.last(w).x;
        if (x2 >= 2 && x2 >= 0.05 * n) {
          const p = binomialTail(x, n, 0.05) * tests;
          if (!best || p < best.p) best = { w, n, x, x2, p, drift: false, onsetOf: { x: series.x, share: 0.05 } };
        }
        // A drift is sustained: judged over the longer windows, and already under way in the older half of the window.
        const older = w >= 2 * frame.windows[0]! ? series.sum(at - w * MINUTE, at - (w / 2) * MINUTE) : null;
        if (older && older.x >= 2 && older.x >= (DRIFT_SHARE / 2) * older.n && x >= 3 && x >= DRIFT_SHARE * n) {
          const x50 = above50.last(w).x;
          const x99 = above99.last(w).x;
          const p50 = binomialTail(x50, n, 0.5) * tests;
          // A p99 equal to the p95 (few distinct values) says nothing the p95 test does not.
          const p99 = th.p99 > th.p95 ? binomialTail(x99, n, 0.01) * tests : 1;
          const p = Math.min(p50, p99);
          if (!best || p < best.p) best = { w, n, x, x2, p, drift: true, onsetOf: p50 <= p99 ? { x: above50.x, share: 0.5 } : { x: above99.x, share: 0.01 } };
        }
      }
      if (!best || best.p > ctx.thresholds.significance) continue;
      // When it began: the change point of the tested exceedances against their baseline share.
      const share = best.onsetOf.share;
      const e = Array.from(series.n, (n) => n * share);
      const observed = best.onsetOf.x;
      const lift = Math.min(20, (observed.subarray(Math.max(0, frame.minutes - best.w)).reduce((a, b) => a + b, 0) / best.n) / share);
      const onset = series.minuteTime(changePoint(observed, e, frame.minutes - best.w, lift));
      const [p] = await ctx.logs.all<{ p95: number | null; n: number }>(
        `SELECT quantile_cont(latency_ms, 0.95) AS p95, count(*) AS n FROM logs WHERE ts >= ?::TIMESTAMP AND ts < ?::TIMESTAMP AND latency_ms IS NOT NULL AND NOT duplicate AND operation = ?`,
        [new Date(at - best.w * MINUTE), ctx.at, th.operation],
      );
      const p95 = Number(p?.p95 ?? 0);
      const ratio = p95 / th.p95;
      const score = round(Math.min(2, ratio / 2) + 0.1 + durationScore(at - onset), 2);
      out.push({
        id: anomalyId('latency_regression', th.subject),
        rule: 'latency_regression',
        subject: th.subject,
        severity: severityOf(score),
        score,
        p_value: best.p,
        window: { from: iso(at - best.w * MINUTE), to: iso(at) },
        baseline: { from: iso(frame.from), to: iso(frame.recentStart) },
        observed: { p95_ms: Math.round(p95), samples: best.n, above_baseline_p95: best.x, drift: best.drift ? 1 : 0 },
        expected: { p95_ms: Math.round(th.p95), baseline_samples: th.n, factor: t.factor },
        onset: iso(onset),
        last_seen: iso(series.lastNonZero() ?? at),
        evidence_query: { mode: 'aggregate', since: iso(onset - 6 * 3_600_000), until: iso(at), bucket: '1h', metrics: ['count', 'p95'], ...operationFilter(th.subject) },
        summary: `${th.subject['operation']} ${best.drift ? `slowing: ${Math.round((100 * best.x) / best.n)}% of calls above its ${Math.round(th.p95)} ms baseline p95, ` : ''}p95 latency ${Math.round(p95)} ms over the last ${humanDuration(best.w * MINUTE)}, ${round(ratio, 1)}× its ${Math.round(th.p95)} ms baseline; since ${iso(onset).slice(11, 16)} UTC (${humanDuration(at - onset)}).`,
      });
    }
    return out;
  },
};
export default rule;
