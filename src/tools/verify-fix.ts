import { z } from 'zod';
import { defineTool } from './define-tool.js';

export const inputSchema = {
  anomaly_id: z.string().max(100),
  commit: z.string().max(100).optional().describe('Marker: this commit\'s committer time.'),
  event_id: z.string().max(200).optional().describe('Marker: a deploy or merge event in the log, by id.'),
  time: z.string().max(40).optional().describe('Marker: ISO or relative time.'),
  window: z.string().max(10).default('1h').describe('Length of each side, at most the time since the marker.'),
};

export const outputSchema = {
  anomaly_id: z.string(),
  marker: z.string(),
  verdict: z.enum(['fixed', 'not_fixed', 'regressed', 'insufficient_data']),
  metric: z.string(),
  before: z.object({ from: z.string(), to: z.string(), events: z.number(), failures: z.number(), metric: z.number().nullable() }),
  after: z.object({ from: z.string(), to: z.string(), events: z.number(), failures: z.number(), metric: z.number().nullable() }),
  explanation: z.string(),
};

export default defineTool({
  name: 'verify_fix',
  toolset: 'anomalies',
  title: 'Verify a fix worked',
  description:
    "Compares an anomaly's metric before and after a marker (a commit's time, a deploy or merge event in the log, or a time) over equal windows: fixed, not_fixed, regressed or insufficient_data, with the figures. The feedback loop: confirm the fix worked in production.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  untrusted: true,
  load: () => import('./handlers/verify-fix.js'),
});
