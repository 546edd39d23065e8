import { humanDuration } from '../../text/durations.js';
import { changePoint, durationScore, normalTail, severityOf } from '../stats.js';
import { anomalyId, bucketRows, frameOf, HOUR, iso, MINUTE, MINUTE_BUCKET, packedAll, round, str, type Shape } from './common.js';
import type { RuleDefinition, Signal } from './types.js';

const DAY = 24 * HOUR;
const COST_SQL = `SELECT agent, {B} AS b, sum(usd_cost) AS c FROM logs WHERE ts >= $lo AND ts < $hi AND usd_cost > 0 GROUP BY ALL`;
const COST_SHAPE: Shape = { keys: ['agent'], values: ['b', 'c'] };

/**
 * cost_spike: an agent spending more than it does at this time of day. The baseline is
 * seasonal — the same minutes of each of the baseline's days — so the evening peak is compared
 * with other evenings and a quiet night with other nights; a spike must be `factor` times the
 * usual spend, well outside the day-to-day spread, and above a floor worth a message.
 */
const rule: RuleDefinition = {
  name: 'cost_spike',
  subject: 'agent',
  description: "an agent's spend at factor× the same time of day over the baseline days",
  async evaluate(ctx) {
    const t = ctx.thresholds.costSpike;
    const at = ctx.at.getTime();
    const days = Math.max(1, Math.floor(ctx.baselineMs / DAY));
    const L = Math.max(1, Math.round(ctx.lookbackMs / MINUTE));
    const frame = frameOf({ ...ctx, baselineMs: (days + 1) * DAY });
    // Minutes ago (0 = the current minute) on each day back, per agent.
    const nowMinute = Math.floor(at / MINUTE) * MINUTE;
    // Kept between evaluations: every minute of the baseline days. Read once: only the same
    // minutes of each day, a lookback's worth per day.
    const rows = ctx.cache ? await bucketRows(ctx, frame, 'cost', COST_SQL, COST_SHAPE, false) : await sameMinutes(ctx, nowMinute, days, L);
    const present = new Set<number>();
    const byAgent = new Map<string, { agent: string | null; c: Float64Array[] }>();
    for (const r of rows) {
      const ago = nowMinute - Number(r['b']);
      const d = Math.floor(ago / DAY);
      const m = Math.round((ago - d * DAY) / MINUTE);
      if (d < 0 || d > days || m < 0 || m >= L) continue;
      if (d > 0) present.add(d);
      const agent = str(r['agent']);
      const key = agent ?? '\u0000';
      let entry = byAgent.get(key);
      if (!entry) byAgent.set(key, (entry = { agent, c: Array.from({ length: days + 1 }, () => new Float64Array(L)) }));
      entry.c[d]![m]! += Number(r['c']);
    }
    const baseDays = [...present].sort((a, b) => a - b);
    if (!baseDays.length) return [];
    const w0 = Math.max(1, Math.round(ctx.windowMs / MINUTE));
    const windows = [...new Set([w0, 3 * w0, 6 * w0].map((w) => Math.min(w, L)))];
    const out: Signal[] = [];
    for (const { agent, c } of byAgent.values()) {
      if (!ctx.matches(agent)) continue;
      const sumOf = (d: number, w: number) => c[d]!.subarray(0, w).reduce((s, v) => s + v, 0);
      let best: { w: number; obs: number; mean: number; sd: number; z: number } | null = null;
      for (const w of windows) {
        const obs = sumOf(0, w);
        const perHour = (obs * HOUR) / (w * MINUTE);
        const usual = baseDays.map((d) => sumOf(d, w));
        const mean = usual.reduce((s, v) => s + v, 0) / usual.length;
        const sd = Math.sqrt(usual.reduce((s, v) => s + (v - mean) ** 2, 0) / usual.length);
        const spread = Math.max(sd, 0.25 * mean, (t.floorUsdPerHour * w * MINUTE) / HOUR / 10);
        const z = (obs - mean) / spread;
        if (perHour < t.floorUsdPerHour || obs < mean * t.factor || z < 4) continue;
        if (!best || z > best.z) best = { w, obs, mean, sd, z };
      }
      if (!best) continue;
      // Chronological minutes of today and the usual spend of each.
      const x = Array.from({ length: L }, (_, i) => c[0]![L - 1 - i]!);
      const e = Array.from({ length: L }, (_, i) => baseDays.reduce((s, d) => s + c[d]![L - 1 - i]!, 0) / baseDays.length);
      const ratio = best.mean > 0 ? best.obs / best.mean : Infinity;
      const i = changePoint(x, e, L - best.w, Number.isFinite(ratio) ? Math.min(ratio, 50) : 50);
      const onset = at - (L - i) * MINUTE;
      let last = at;
      for (let m = 0; m < L; m++) if (c[0]![m]! > 0) { last = at - m * MINUTE; break; }
      const perHour = (best.obs * HOUR) / (best.w * MINUTE);
      const score = round(Math.min(2, (Number.isFinite(ratio) ? ratio : 10) / 3 + 0.3) + (perHour >= 10 * t.floorUsdPerHour ? 0.4 : 0) + durationScore(at - onset), 2);
      const subject = { agent };
      out.push({
        id: anomalyId('cost_spike', subject),
        rule: 'cost_spike',
        subject,
        severity: severityOf(score),
        score,
        p_value: normalTail(best.z) * windows.length,
        window: { from: iso(at - best.w * MINUTE), to: iso(at) },
        baseline: { from: iso(at - days * DAY - best.w * MINUTE), to: iso(at - DAY) },
        observed: { usd: round(best.obs, 4), usd_per_hour: round(perHour, 3) },
        expected: { usd: round(best.mean, 4), usd_per_hour: round((best.mean * HOUR) / (best.w * MINUTE), 3), days: baseDays.length, floor: t.floorUsdPerHour },
        onset: iso(onset),
        last_seen: iso(last),
        evidence_query: { mode: 'aggregate', since: iso(onset), until: iso(at), ...(agent ? { agent } : {}), group_by: ['event'], metrics: ['count', 'cost'] },
        summary: `${agent ?? 'unattributed'} is spending $${perHour.toFixed(2)}/h over the last ${humanDuration(best.w * MINUTE)}, ${Number.isFinite(ratio) ? `${round(ratio, 1)}×` : 'far above'} its usual $${((best.mean * HOUR) / (best.w * MINUTE)).toFixed(2)}/h at this time of day; since ${iso(onset).slice(11, 16)} UTC.`,
      });
    }
    return out;
  },
};
export default rule;

/**
 * The same L minutes of each day, [now - d days - (L - 1) min, now - d days + 1 min) for d in
 * 0..days (the last ending at `at`): one scan from the first, keeping the time of day that
 * falls in them. (One range scan per day reads each range's whole row groups: over a few
 * hours each, more than the week.)
 */
function sameMinutes(ctx: Parameters<RuleDefinition['evaluate']>[0], nowMinute: number, days: number, L: number): Promise<Array<Record<string, unknown>>> {
  const lo = nowMinute - days * DAY - (L - 1) * MINUTE;
  const inDay = `(epoch_us(ts) - ${Math.trunc(lo) * 1000}) % ${DAY * 1000} < ${L * MINUTE * 1000}`;
  return packedAll(ctx.logs, `SELECT agent, ${MINUTE_BUCKET} AS b, sum(usd_cost) AS c FROM logs WHERE ts >= ?::TIMESTAMP AND ts < ?::TIMESTAMP AND usd_cost > 0 AND ${inDay} GROUP BY ALL`, [new Date(lo), ctx.at], COST_SHAPE);
}
