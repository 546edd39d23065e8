import { z } from 'zod';
import { getAnomaly } from '../core/anomalies/state.js';
import { verifyFix } from '../core/anomalies/verify-fix.js';
import { NotFoundError, UserInputError } from '../core/errors.js';
import { GitRunner } from '../core/git/runner.js';
import { parseTimeBound } from '../core/logs/query.js';
import { getLogIndex } from '../server/engines.js';
import { defineTool } from './define-tool.js';
import { indexingProgress, untrustedText } from './_shared.js';

export default defineTool({
  name: 'verify_fix',
  toolset: 'anomalies',
  title: 'Verify a fix worked',
  description:
    "Compares an anomaly's metric before and after a marker (a commit's time, a deploy or merge event in the log, or a time) over equal windows: fixed, not_fixed, regressed or insufficient_data, with the figures. The feedback loop: confirm the fix worked in production.",
  inputSchema: {
    anomaly_id: z.string().max(100),
    commit: z.string().max(100).optional().describe('Marker: this commit\'s committer time.'),
    event_id: z.string().max(200).optional().describe('Marker: a deploy or merge event in the log, by id.'),
    time: z.string().max(40).optional().describe('Marker: ISO or relative time.'),
    window: z.string().max(10).default('1h').describe('Length of each side, at most the time since the marker.'),
  },
  outputSchema: {
    anomaly_id: z.string(),
    marker: z.string(),
    verdict: z.enum(['fixed', 'not_fixed', 'regressed', 'insufficient_data']),
    metric: z.string(),
    before: z.object({ from: z.string(), to: z.string(), events: z.number(), failures: z.number(), metric: z.number().nullable() }),
    after: z.object({ from: z.string(), to: z.string(), events: z.number(), failures: z.number(), metric: z.number().nullable() }),
    explanation: z.string(),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  untrusted: true,
  async handler(input, { app, progress }) {
    const rec = await getAnomaly(app.config.privateDirPath, input.anomaly_id);
    if (!rec) throw new NotFoundError(`No anomaly ${input.anomaly_id.slice(0, 60)}.`, { hint: 'Take the id from detect_anomalies or selfscope://anomalies/open.' });
    const markers = [input.commit, input.event_id, input.time].filter((m) => m !== undefined);
    if (markers.length !== 1) throw new UserInputError('Give exactly one marker: commit, event_id or time.', { hint: 'e.g. commit: the sha git_commit returned, or event_id of a deploy event.' });
    const index = await getLogIndex(app);
    await index.refresh({ onProgress: indexingProgress(progress) });
    let marker: Date;
    if (input.commit) {
      if (input.commit.startsWith('-')) throw new UserInputError('A commit cannot start with "-".', { hint: 'Pass a sha or a branch.' });
      const iso = (await new GitRunner(app.config.repo).run(['show', '-s', '--format=%cI', '--end-of-options', input.commit]).catch(() => '')).trim();
      if (!iso) throw new UserInputError(`Unknown commit ${input.commit.slice(0, 60)}.`, { hint: 'Pass a sha from git_log or git_commit.' });
      marker = new Date(iso);
    } else if (input.event_id) {
      const rows = await index.all<{ ts: string }>(`SELECT strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') AS ts FROM logs WHERE id = ?`, [input.event_id]);
      if (!rows[0]) throw new NotFoundError(`No log event ${input.event_id.slice(0, 60)}.`, { hint: 'Find the deploy event with query_runtime_logs (text: "deploy").' });
      marker = new Date(rows[0].ts);
    } else marker = parseTimeBound(input.time!, 'time');
    const v = await verifyFix(index, rec.anomaly, marker, { window: input.window });
    return { structured: { anomaly_id: rec.id, marker: marker.toISOString(), ...v }, text: [`${rec.id} (${rec.rule}): ${v.verdict.toUpperCase()}`, untrustedText(v.explanation)] };
  },
});
