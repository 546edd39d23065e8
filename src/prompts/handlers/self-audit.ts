import { listAnomalies } from '../../core/anomalies/state.js';
import { parseDuration } from '../../core/logs/query.js';
import { selfAuditPlaybookParts } from '../../core/playbooks/playbooks.js';
import { aggregateLines, anomalyLine, checkPeriod, evidenceText, waitingPullRequests } from './_evidence.js';
import type { argsSchema } from '../self-audit.js';
import type { PromptCompleters, PromptRender } from '../define-prompt.js';

export const complete: PromptCompleters<typeof argsSchema> = {
  period: async (value) => ['24h', '3d', '7d', '14d', '30d'].filter((p) => p.startsWith(value)),
};

export const render: PromptRender<typeof argsSchema> = async (args, { app }) => {
  const period = checkPeriod(args.period ?? '7d', 'period');
  const sinceMs = Date.now() - parseDuration(period)!;
  const all = await listAnomalies(app.config.privateDirPath, 'all', 200);
  const inPeriod = all.filter((r) => r.status !== 'past' && (Date.parse(r.first_seen) >= sinceMs || Date.parse(r.last_fired) >= sinceMs || (r.resolved_at !== null && Date.parse(r.resolved_at) >= sinceMs)));
  const evidence = evidenceText([
    [`Top error fingerprints over ${period}`, await aggregateLines(app, { since: period, errors_only: true }, ['fingerprint'], ['count'], 8)],
    [`Per agent over ${period}`, await aggregateLines(app, { since: period }, ['agent'], ['count', 'errors', 'error_rate', 'p95', 'cost'], 10)],
    ['Anomalies open now', inPeriod.filter((r) => r.status === 'open').map(anomalyLine)],
    ['Anomalies resolved in the period', inPeriod.filter((r) => r.status === 'resolved').map((r) => `${anomalyLine(r)}; resolved ${r.resolved_at}`)],
    ['Pull requests waiting for a human', await waitingPullRequests(app, sinceMs)],
  ]);
  return {
    description: `Self-audit over ${period}`,
    messages: [{ role: 'user', text: selfAuditPlaybookParts({ period, evidence }) }],
  };
};
