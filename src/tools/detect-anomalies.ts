import { z } from 'zod';
import { RULES } from '../core/anomalies/rules/types.js';
import { defineTool } from './define-tool.js';
import { freshnessSchema } from './_shared.js';

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

export const inputSchema = {
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
};

export const outputSchema = {
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
};

export default defineTool({
  name: 'detect_anomalies',
  toolset: 'anomalies',
  title: 'Detect anomalies',
  description:
    "Incidents in the runtime logs, by rules tested against each subject's own baseline, no LLM: error_rate (binomial test of an operation's failures), repeated_error (Poisson test of one error's count, scaled by traffic), latency_regression (p95 ≥ 2× baseline, or a sustained drift past its baseline quantiles), new_error (a failure first seen in the last day), cost_spike (vs the same time of day). Signals of one problem are grouped: one anomaly per incident, with its member signals. Window (default 10m, also 3× and 6×) vs baseline (default 7d), at to evaluate the past. Each has a stable id, severity (rising with impact and duration), onset, samples (untrusted) and query_runtime_logs arguments. Highest score first, within limits.resultBytes; next_offset (with at: evaluated_at) pages.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  untrusted: true,
  load: () => import('./handlers/detect-anomalies.js'),
});
