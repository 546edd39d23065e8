import { DetectCache } from '../../core/anomalies/cache.js';
import { detectAnomalies, type Anomaly } from '../../core/anomalies/detect.js';
import { recordPastAnomalies, updateAnomalyState } from '../../core/anomalies/state.js';
import { parseDuration, parseTimeBound } from '../../core/logs/query.js';
import { getLogIndex } from '../../server/engines.js';
import { humanAgeOf } from '../../core/text/durations.js';
import { emptyIndexNotice } from '../../core/logs/index-coverage.js';
import { sanitizeJson } from '../../core/text/egress.js';
import { indexingProgress, jsonBytes, structuredBudget, textBudget, untrustedText } from './_shared.js';
import type { ToolHandler } from '../define-tool.js';
import type { inputSchema, outputSchema } from '../detect-anomalies.js';

export const handler: ToolHandler<typeof inputSchema, typeof outputSchema> = async (input, { app, progress }) => {
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
};

