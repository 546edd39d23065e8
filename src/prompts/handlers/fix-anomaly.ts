import { getAnomaly, listAnomalies } from '../../core/anomalies/state.js';
import { NotFoundError } from '../../core/errors.js';
import { fixAnomalyPlaybookParts } from '../../core/playbooks/playbooks.js';
import { anomalyClues, suspectCommits } from '../../core/anomalies/suspects.js';
import { getLogIndex } from '../../server/engines.js';
import { anomalyLine, evidenceText } from './_evidence.js';
import type { argsSchema } from '../fix-anomaly.js';
import type { PromptCompleters, PromptRender } from '../define-prompt.js';

export const complete: PromptCompleters<typeof argsSchema> = {
  anomaly_id: async (value, { app }) => (await listAnomalies(app.config.privateDirPath, 'open', 100)).map((r) => r.id).filter((id) => id.startsWith(value)),
};

export const render: PromptRender<typeof argsSchema> = async (args, { app }) => {
  const rec = await getAnomaly(app.config.privateDirPath, args.anomaly_id.trim());
  if (!rec) throw new NotFoundError(`No anomaly ${args.anomaly_id.slice(0, 60)}.`, { hint: 'Complete the argument from the open anomalies, or run detect_anomalies first.' });
  const a = rec.anomaly;
  // The same ranking suspect_commits gives; a repository or log problem only loses this section.
  const suspects = await (async () => {
    const index = await getLogIndex(app);
    await index.refresh();
    return suspectCommits({ repo: app.config.repo, onset: new Date(a.onset ?? rec.first_seen), texts: await anomalyClues(index, a), lookbackHours: 48, max: 3 });
  })().catch(() => null);
  const evidence = evidenceText([
    ['Anomaly', [anomalyLine(rec), `status ${rec.status}, first seen ${rec.first_seen}, last fired ${rec.last_fired}`, `observed ${JSON.stringify(a.observed)}; expected ${JSON.stringify(a.expected)}`]],
    ['Signals in this incident (lead first)', (a.signals ?? []).map((x) => `${x.rule} [${x.severity}] ${JSON.stringify(x.subject)}: ${x.summary}`)],
    ['Sample events (ids for get_log_event and log_timeline)', a.samples.map((s) => `${s.id} ${s.ts} ${s.event}${s.error ? `: ${s.error}` : ''}`)],
    ['Evidence query (query_runtime_logs arguments)', [JSON.stringify(a.evidence_query)]],
    ['Suspect commits', suspects ? suspects.suspects.map((s) => `${s.sha.slice(0, 10)} ${s.subject} (${s.reasons.join('; ')})`) : ['(suspect_commits could not run here; call the tool)']],
  ]);
  return {
    description: `Fix ${rec.id}: ${rec.summary.slice(0, 80)}`,
    messages: [{ role: 'user', text: fixAnomalyPlaybookParts({ anomalyId: rec.id, evidence }) }],
  };
};
