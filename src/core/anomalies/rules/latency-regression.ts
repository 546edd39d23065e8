import { humanDuration } from '../../text/durations.js';
import { binomialTail, changePoint, durationScore, severityOf } from '../stats.js';
import { anomalyId, bind, frameOf, iso, MINUTE, OPERATION_KEY_SQL, operationFilter, operationSubject, round, seriesBy } from './common.js';
import type { RuleDefinition, Signal } from './types.js';

/**
 * latency_regression: an operation slower than its own baseline. The baseline p95 is read
 * before the lookback (outside the incident's own span) and only with enough samples; a window is judged only with enough samples: more calls above that
 * p95 than the 5% chance allows (binomial test), and at least 5% above `factor` times it
 * (the window's p95 is that much slower).
 */
const rule: RuleDefinition = {
  name: 'latency_regression',
  subject: 'operation',
  description: 'p95 latency of an operation at factor× its baseline (binomial test on calls above the baseline p95)',
  async evaluate(ctx) {
    const t = ctx.thresholds.latencyRegression;
    const frame = frameOf(ctx);
    const q = bind(
      `SELECT ${OPERATION_KEY_SQL}, count(*) AS n, approx_quantile(latency_ms, 0.95) AS p95
       FROM logs WHERE ts >= $from AND ts < $recent AND latency_ms IS NOT NULL AND NOT duplicate GROUP BY ALL HAVING count(*) >= ${Math.floor(t.minBaselineSamples)}`,
      { from: new Date(frame.from), recent: new Date(frame.recentStart) },
    );
    // The baseline moves by whole hours: read once an hour.
    const read = () => ctx.logs.all(q.sql, q.params);
    const baselineRows = ctx.cache ? await ctx.cache.once(`latency:${t.minBaselineSamples}`, `${frame.from}-${frame.recentStart}`, read) : await read();
    const thresholds: Array<{ subject: Record<string, string | null>; p95: number; n: number }> = [];
    for (const r of baselineRows) {
      const subject = operationSubject(r);
      const p95 = Number(r['p95']);
      if (p95 > 0 && ctx.matches(subject['operation'] ?? null, subject['tool_name'] ?? null)) thresholds.push({ subject, p95, n: Number(r['n']) });
    }
    if (!thresholds.length) return [];
    const values = thresholds.map(() => '(?::VARCHAR, ?::VARCHAR, ?::VARCHAR, ?::DOUBLE, ?::DOUBLE)').join(', ');
    const keyOf = (s: Record<string, string | null>) => (s['tool_name'] ? `t:${s['tool_name']}` : `o:${s['operation']}`);
    const params: unknown[] = thresholds.flatMap((th) => [keyOf(th.subject), th.subject['tool_name'], th.subject['tool_name'] ? null : th.subject['operation'], th.p95, th.p95 * t.factor]);
    // An equality join on one key: a hash join, whatever the number of subjects.
    const rows = await ctx.logs.all(
      `WITH thr(k, tool_name, op, t1, t2) AS (VALUES ${values})
       SELECT thr.tool_name, thr.op, (epoch_ms(l.ts) // ${MINUTE}) * ${MINUTE} AS b, count(*) AS n, count(*) FILTER (WHERE l.latency_ms > thr.t1) AS x, count(*) FILTER (WHERE l.latency_ms > thr.t2) AS x2
       FROM logs l JOIN thr ON thr.k = CASE WHEN l.tool_name IS NOT NULL THEN 't:' || l.tool_name ELSE 'o:' || l.operation END
       WHERE l.ts >= ? AND l.ts < ? AND l.latency_ms IS NOT NULL AND NOT l.duplicate GROUP BY ALL`,
      [...params, new Date(frame.recentStart), ctx.at],
    );
    const groups = seriesBy(frame, rows, operationSubject);
    const far = seriesBy(frame, rows, operationSubject, 'x2');
    const at = ctx.at.getTime();
    const out: Signal[] = [];
    for (const th of thresholds) {
      const k = JSON.stringify(th.subject);
      const series = groups.get(k)?.series;
      const slow = far.get(k)?.series;
      if (!series || !slow) continue;
      let best: { w: number; n: number; x: number; x2: number; p: number } | null = null;
      for (const w of frame.windows) {
        const { x, n } = series.last(w);
        const x2 = slow.last(w).x;
        if (n < t.minSamples || x2 < 2 || x2 < 0.05 * n) continue;
        const p = binomialTail(x, n, 0.05) * frame.windows.length;
        if (!best || p < best.p) best = { w, n, x, x2, p };
      }
      if (!best || best.p > ctx.thresholds.significance) continue;
      const e = Array.from(series.n, (n) => n * 0.05);
      const onset = series.minuteTime(changePoint(series.x, e, frame.minutes - best.w, Math.min(20, best.x / best.n / 0.05)));
      const [p] = await ctx.logs.all<{ p95: number | null; n: number }>(
        `SELECT quantile_cont(latency_ms, 0.95) AS p95, count(*) AS n FROM logs WHERE ts >= ? AND ts < ? AND latency_ms IS NOT NULL AND NOT duplicate AND ${th.subject['tool_name'] ? 'tool_name = ?' : 'tool_name IS NULL AND operation = ?'}`,
        [new Date(at - best.w * MINUTE), ctx.at, th.subject['tool_name'] ?? th.subject['operation']],
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
        observed: { p95_ms: Math.round(p95), samples: best.n, above_baseline_p95: best.x },
        expected: { p95_ms: Math.round(th.p95), baseline_samples: th.n, factor: t.factor },
        onset: iso(onset),
        last_seen: iso(series.lastNonZero() ?? at),
        evidence_query: { mode: 'aggregate', since: iso(onset - 6 * 3_600_000), until: iso(at), bucket: '1h', metrics: ['count', 'p95'], ...operationFilter(th.subject) },
        summary: `${th.subject['operation']} p95 latency ${Math.round(p95)} ms over the last ${humanDuration(best.w * MINUTE)}, ${round(ratio, 1)}× its ${Math.round(th.p95)} ms baseline; since ${iso(onset).slice(11, 16)} UTC (${humanDuration(at - onset)}).`,
      });
    }
    return out;
  },
};
export default rule;
