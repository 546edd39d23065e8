import { getAnomaly } from '../../core/anomalies/state.js';
import { verifyFix } from '../../core/anomalies/verify-fix.js';
import { NotFoundError, UserInputError } from '../../core/errors.js';
import { GitRunner } from '../../core/git/runner.js';
import { parseTimeBound } from '../../core/logs/query.js';
import { getLogIndex } from '../../server/engines.js';
import { indexingProgress, untrustedText } from './_shared.js';
import type { ToolHandler } from '../define-tool.js';
import type { inputSchema, outputSchema } from '../verify-fix.js';

export const handler: ToolHandler<typeof inputSchema, typeof outputSchema> = async (input, { app, progress }) => {
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
};

