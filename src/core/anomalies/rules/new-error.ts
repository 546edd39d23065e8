import { parseDuration } from '../../logs/query.js';
import { sanitizeUntrusted } from '../../text/bounded.js';
import { humanDuration } from '../../text/durations.js';
import { durationScore, severityOf } from '../stats.js';
import { anomalyId, eventRows, failureFrame, fingerprintFilter, HOUR, iso, round, str } from './common.js';
import type { RuleDefinition, Signal } from './types.js';

/**
 * new_error: a failure first seen in the last day and never in the baseline before it — per
 * fingerprint, and per (kind, tool) for a tool or kind that never failed before. Reported from
 * its `count`th occurrence (each failure counted once), whatever the evaluation cadence, and
 * kept firing while it recurs.
 */
const rule: RuleDefinition = {
  name: 'new_error',
  subject: 'fingerprint',
  description: 'a failure (fingerprint, or kind and tool) first seen in the last day, never in the baseline',
  async evaluate(ctx) {
    const t = ctx.thresholds.newError;
    const at = ctx.at.getTime();
    const newFor = parseDuration(t.newFor) ?? 24 * HOUR;
    const recur = parseDuration(t.recurWithin) ?? HOUR;
    const frame = failureFrame(ctx);
    const groups = new Map<string, { kind: string | null; tool_name: string | null; fingerprint: string | null; first: number; last: number; n: number; w: number; firstIn: number }>();
    const since = at - newFor;
    const lo = at - newFor - ctx.baselineMs;
    for (const r of (await eventRows(ctx)).failures) {
      if (Number(r['b']) + (Number(r['b']) >= frame.recentStart ? 60_000 : HOUR) <= lo) continue;
      const x = Number(r['x']);
      const first = Number(r['first']);
      const last = Number(r['last']);
      const inWindow = Number(r['b']) >= at - ctx.windowMs ? x : 0;
      for (const fp of [str(r['fingerprint']) ?? '', null]) {
        const k = `${r['kind']}\u0001${r['tool_name']}\u0001${fp === null ? '\u0002' : fp}`;
        const g = groups.get(k) ?? { kind: str(r['kind']), tool_name: str(r['tool_name']), fingerprint: fp, first: Infinity, last: -Infinity, n: 0, w: 0, firstIn: Infinity };
        g.first = Math.min(g.first, first);
        g.last = Math.max(g.last, last);
        g.n += x;
        g.w += inWindow;
        groups.set(k, g);
      }
    }
    const rows = [...groups.values()].filter((g) => g.first >= since && g.n >= t.count && g.last >= at - recur);
    const out: Signal[] = [];
    for (const g of rows) {
      const r: Record<string, unknown> = { kind: g.kind, tool_name: g.tool_name, fingerprint: g.fingerprint, by_tool: g.fingerprint === null ? 1 : 0, first: g.first, last: g.last, n: g.n, w: g.w };
      const byTool = Number(r['by_tool']) === 1;
      const subject: Record<string, string | null> = byTool
        ? { kind: str(r['kind']), tool_name: str(r['tool_name']) }
        : { kind: str(r['kind']), tool_name: str(r['tool_name']), fingerprint: str(r['fingerprint']) ?? '' };
      if (!ctx.matches(subject['kind'] ?? null, subject['tool_name'] ?? null, subject['fingerprint'] ?? null)) continue;
      const first = Number(r['first']);
      const last = Number(r['last']);
      const n = Number(r['n']);
      const perHour = (n * HOUR) / Math.max(at - first, 10 * 60_000);
      const score = round(0.9 + Math.min(1, perHour / 60) + durationScore(last - first), 2);
      const what = byTool ? `${subject['tool_name'] ?? subject['kind']} failing for the first time` : `A new error "${sanitizeUntrusted(subject['fingerprint'] ?? '', 160).text}"`;
      out.push({
        id: anomalyId('new_error', subject),
        rule: 'new_error',
        subject,
        severity: severityOf(score),
        score,
        p_value: 0,
        window: { from: iso(first), to: iso(at) },
        baseline: { from: iso(first - ctx.baselineMs), to: iso(first) },
        observed: { count: n, in_window: Number(r['w']), per_hour: round(perHour, 1) },
        expected: { baseline_count: 0 },
        onset: iso(first),
        last_seen: iso(last),
        evidence_query: { since: iso(first), until: iso(at), errors_only: true, ...fingerprintFilter(subject) },
        summary: `${what}, never seen in the ${humanDuration(ctx.baselineMs)} before: ${n} times since ${iso(first).slice(11, 16)} UTC (${round(perHour, 1)}/h)${!byTool && subject['tool_name'] ? ` in ${subject['tool_name']}` : ''}.`,
      });
    }
    return out;
  },
};
export default rule;
