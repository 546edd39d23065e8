import { z } from 'zod';
import { getAnomaly, listAnomalies } from '../core/anomalies/state.js';
import { NotFoundError } from '../core/errors.js';
import { fixAnomalyPlaybookParts } from '../core/playbooks/playbooks.js';
import { anomalyClues, suspectCommits } from '../core/anomalies/suspects.js';
import { getLogIndex } from '../server/engines.js';
import { definePrompt } from './define-prompt.js';
import { anomalyLine, evidenceText } from './_evidence.js';

export default definePrompt({
  name: 'fix_anomaly',
  title: 'Fix an anomaly',
  description: 'The evidence for one anomaly (by id, completed from the open ones), its suspect commits, and the steps: branch in a worktree, fix, run_typecheck, run_tests, commit, PR, report back, later verify_fix.',
  // Its steps branch, check, commit and open a PR: without those tools it cannot be followed.
  needsTools: ['query_runtime_logs', 'suspect_commits', 'git_branch_create', 'run_typecheck', 'run_tests', 'git_commit', 'git_pr_create'],
  usesTools: ['detect_anomalies', 'verify_fix'],
  argsSchema: {
    anomaly_id: z.string().min(1).max(100).describe('From detect_anomalies or selfscope://anomalies/open.'),
  },
  complete: {
    anomaly_id: async (value, { app }) => (await listAnomalies(app.config.privateDirPath, 'open', 100)).map((r) => r.id).filter((id) => id.startsWith(value)),
  },
  async render(args, { app }) {
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
  },
});
