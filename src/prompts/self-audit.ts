import { z } from 'zod';
import { definePrompt } from './define-prompt.js';

export const argsSchema = {
  period: z.string().max(20).optional().describe('e.g. 24h, 7d (default 7d).'),
};

export default definePrompt({
  name: 'self_audit',
  title: 'Audit the bot over a period',
  description: "Top error fingerprints, latency, cost per agent, anomalies opened and resolved, PRs waiting for a human, over a period (default 7d); asks for a short report with fix proposals ranked by impact.",
  needsTools: ['query_runtime_logs'],
  usesTools: ['detect_anomalies', 'git_log'],
  argsSchema,
  completes: ['period'],
  load: () => import('./handlers/self-audit.js'),
});
