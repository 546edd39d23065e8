import { z } from 'zod';
import { DetectCache } from '../core/anomalies/cache.js';
import { detectAnomalies, RULES, type Anomaly } from '../core/anomalies/detect.js';
import { recordPastAnomalies, updateAnomalyState } from '../core/anomalies/state.js';
import { parseDuration, parseTimeBound } from '../core/logs/query.js';
import { getLogIndex } from '../server/engines.js';
import { humanAgeOf } from '../core/text/durations.js';
import { emptyIndexNotice } from '../core/logs/index-coverage.js';
import { defineTool } from './define-tool.js';
import { sanitizeJson } from '../core/text/egress.js';
import { indexingProgress, freshnessSchema, jsonBytes, structuredBudget, textBudget, untrustedText } from './_shared.js';

// What a signal and the incident it leads have alike.
const findingFields = {
  id: z.string(),
  rule: z.enum(RULES),
  subject: z.record(z.string(), z.string().nullable()),
  severity: z.enum(['low', 'medium', 'high', 'critical']),
  score: z.number(),
  window: z.object({ from: z.string(), to: z.string() }),
  baseline: z.object({ from: z.string(), to: z.string() }),
  observed: z.record(z.string(), z.number().nullable()),
  expected: z.record(z.string(), z.number().nullable()),
  onset: z.string().nullable(),
  last_seen: z.string().nullable(),
  evidence_query: z.record(z.string(), z.unknown()),
  summary: z.string(),
};

const signalSchema = z.object({ ...findingFields, p_value: z.number() });

const anomalySchema = z.object({
  ...findingFields,
  samples: z.array(z.object({ id: z.string(), ts: z.string(), event: z.string(), error: z.string().nullable(), untrusted: z.literal(true) })),
  signals: z.array(signalSchema).describe('The rule findings grouped in this incident, its lead first.'),
});

export { anomalySchema };

export default defineTool({
  name: 'detect_anomalies',
  toolset: 'anomalies',
  title: 'Detect anomalies',
  description:
    "Incidents in the runtime logs, by rules tested against each subject's own baseline, no LLM: error_rate (binomial test of an operation's failures), repeated_error (Poisson test of one error's count, scaled by traffic), latency_regression (p95 ≥ 2× baseline), new_error (a failure first seen in the last day), cost_spike (vs the same time of day). Signals of one problem are grouped: one anomaly per incident, with its member signals. Window (default 10m, also 3× and 6×) vs baseline (default 7d), at to evaluate the past. Each has a stable id, severity (rising with impact and duration), onset, samples (untrusted) and query_runtime_logs arguments. Highest score first, within limits.resultBytes; next_offset (with at: evaluated_at) pages.",
  inputSchema: {
    window: z.string().max(10).optional().describe('e.g. 10m, 1h'),
    baseline: z.string().max(10).optional().describe('e.g. 7d'),
    rules: z.array(z.enum(RULES)).max(RULES.length).optional(),
    subject: z.string().max(200).optional().describe('Only subjects whose tool, operation, kind, agent or fingerprint contains this.'),
    at: z.string().max(40).optional().describe('Evaluate as of this time (ISO or relative like 1d = one day ago). Past evaluations do not open or resolve anomalies; their ids still work with suspect_commits and verify_fix.'),
    error_rate_threshold: z.number().min(0).max(1).optional(),
    min_failures: z.number().int().min(1).optional().describe('error_rate: the least failures in a window to report.'),
    repeated_error_count: z.number().int().min(1).optional(),
    latency_factor: z.number().min(1).optional(),
    new_error_count: z.number().int().min(1).optional(),
    cost_factor: z.number().min(1).optional(),
    offset: z.number().int().min(0).max(10_000).default(0).describe('Anomalies to skip: next_offset of the previous page (pass its evaluated_at as at, for the same evaluation).'),
  },
  outputSchema: {
    anomalies: z.array(anomalySchema),
    evaluated_at: z.string(),
    state_updated: z.boolean(),
    opened: z.array(z.string()),
    resolved: z.array(z.string()),
    truncated: z.boolean().describe('Anomalies were left out of this page.'),
    truncated_reason: z.string().nullable().describe('How many were left out, and how to get them.'),
    total_anomalies: z.number().describe('Anomalies found, on every page.'),
    next_offset: z.number().nullable().describe('offset of the next page; null on the last page.'),
    freshness: freshnessSchema,
    notice: z.string().nullable().describe('Set when nothing is indexed (no log file matched, or no event yet): then "no anomaly" means nothing.'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  untrusted: true,
  async handler(input, { app, progress }) {
    const cfg = app.config.anomalies;
    const thresholds = {
      ...cfg,
      errorRate: { ...cfg.errorRate, ...(input.error_rate_threshold !== undefined ? { threshold: input.error_rate_threshold } : {}), ...(input.min_failures !== undefined ? { minFailures: input.min_failures } : {}) },
      repeatedError: { ...cfg.repeatedError, ...(input.repeated_error_count !== undefined ? { count: input.repeated_error_count } : {}) },
      latencyRegression: { ...cfg.latencyRegression, ...(input.latency_factor !== undefined ? { factor: input.latency_factor } : {}) },
      newError: { ...cfg.newError, ...(input.new_error_count !== undefined ? { count: input.new_error_count } : {}) },
      costSpike: { ...cfg.costSpike, ...(input.cost_factor !== undefined ? { factor: input.cost_factor } : {}) },
    };
    const now = Date.now();
    const at = input.at ? parseTimeBound(input.at, 'at', now) : new Date(now);
    const index = await getLogIndex(app);
    await index.refresh({ onProgress: indexingProgress(progress) });
    // Past hours' aggregates are kept for the server's next evaluation.
    const cache = await app.service('anomalyCache', async () => new DetectCache());
    const anomalies = await detectAnomalies(index, {
      at,
      thresholds,
      cache,
      ...(input.window ? { window: input.window } : {}),
      ...(input.baseline ? { baseline: input.baseline } : {}),
      ...(input.rules ? { rules: input.rules } : {}),
      ...(input.subject ? { subject: input.subject } : {}),
    });
    // State follows the present only; looking at the past leaves it alone.
    const live = Math.abs(now - at.getTime()) < 60_000 && !input.window && !input.baseline;
    let opened: string[] = [];
    let resolved: string[] = [];
    if (live) {
      const changes = await updateAnomalyState(app.config.privateDirPath, anomalies, at, parseDuration(cfg.quietPeriod) ?? 1_800_000);
      opened = changes.opened.map((a) => a.id);
      resolved = changes.resolved.map((r) => r.id);
      if (opened.length || resolved.length || changes.escalated.length) app.notifyResourceUpdated('selfscope://anomalies/open');
    } else {
      await recordPastAnomalies(app.config.privateDirPath, anomalies, at);
    }
    const freshness = index.freshness();
    const notice = await emptyIndexNotice(index, app.config.repo, app.config.logs);
    // Room for the fields around the list (the ids opened and resolved can be many).
    const budget = structuredBudget(app.config.limits.resultBytes, 1024 + jsonBytes({ opened, resolved, freshness }));
    const kept: Anomaly[] = [];
    let used = 0;
    for (const raw of anomalies.slice(input.offset)) {
      // Sized as they will leave: subjects and summaries quote log text (the boundary would do the same).
      const a = sanitizeJson(raw, { fieldBytes: app.config.limits.fieldBytes });
      const size = Buffer.byteLength(JSON.stringify(a));
      if (used + size > budget && kept.length > 0) break;
      used += size;
      kept.push(a);
    }
    const text = kept.length
      ? kept.map((a) => `[${a.severity}] ${a.id} ${a.rule}: ${a.summary}${a.onset ? ` (since ${a.onset}, ${humanAgeOf(a.onset) ?? '?'})` : ''}`).join('\n')
      : (notice ?? `No anomaly as of ${at.toISOString()} (window ${input.window ?? cfg.window}, baseline ${input.baseline ?? cfg.baseline}).`);
    const end = input.offset + kept.length;
    const nextOffset = end < anomalies.length && kept.length > 0 ? end : null;
    const truncatedReason =
      nextOffset !== null
        ? `anomalies ${input.offset + 1}-${end} of ${anomalies.length} (highest score first) fit in limits.resultBytes; the next page: the same arguments with offset ${nextOffset} and at "${at.toISOString()}", or narrow with rules or subject`
        : input.offset > 0 && kept.length === 0 && anomalies.length > 0
          ? `offset ${input.offset} is past the last anomaly (${anomalies.length})`
          : null;
    return {
      structured: { anomalies: kept, evaluated_at: at.toISOString(), state_updated: live, opened, resolved, truncated: nextOffset !== null, truncated_reason: truncatedReason, total_anomalies: anomalies.length, next_offset: nextOffset, freshness, notice },
      text: kept.length ? [`${kept.length} anomal${kept.length === 1 ? 'y' : 'ies'}${truncatedReason ? ` — ${truncatedReason}` : ''}:`, untrustedText(text, textBudget(app.config.limits.resultBytes))] : [truncatedReason ?? text],
    };
  },
});
