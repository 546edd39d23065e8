import { getAnomaly } from '../../core/anomalies/state.js';
import { anomalyClues, suspectCommits, type AnomalyClues } from '../../core/anomalies/suspects.js';
import { NotFoundError, UserInputError } from '../../core/errors.js';
import { parseTimeBound } from '../../core/logs/query.js';
import { getLogIndex } from '../../server/engines.js';
import { fitItems, jsonBytes, structuredBudget, textBudget, untrustedText } from './_shared.js';
import type { ToolHandler } from '../define-tool.js';
import type { inputSchema, outputSchema } from '../suspect-commits.js';

export const handler: ToolHandler<typeof inputSchema, typeof outputSchema> = async (input, { app }) => {
  let onset: Date;
  const clues: AnomalyClues = { texts: input.error_text ? [input.error_text] : [], terms: [] };
  if (input.anomaly_id) {
    const rec = await getAnomaly(app.config.privateDirPath, input.anomaly_id);
    if (!rec) throw new NotFoundError(`No anomaly ${input.anomaly_id.slice(0, 60)}.`, { hint: 'Take the id from detect_anomalies or selfscope://anomalies/open.' });
    onset = new Date(rec.anomaly.onset ?? rec.first_seen);
    // The errors and stack traces of the anomaly's events name the files; their names point into them.
    const found = await anomalyClues(await getLogIndex(app), rec.anomaly);
    clues.texts.push(...found.texts);
    clues.terms.push(...found.terms);
  } else if (input.time) {
    onset = parseTimeBound(input.time, 'time');
  } else {
    throw new UserInputError('Give anomaly_id, or time (and error_text).', { hint: 'e.g. anomaly_id from detect_anomalies, or time: "2h" with error_text: the stack trace.' });
  }
  const found = await suspectCommits({ repo: app.config.repo, onset, texts: clues, lookbackHours: input.lookback_hours, max: input.max });
  // Ranked best first: the lowest-ranked give way when the list does not fit; terms are few and bounded.
  const suspects = fitItems(found.suspects, structuredBudget(app.config.limits.resultBytes, 1024 + jsonBytes(found.named_files) + jsonBytes(found.terms)), 1);
  const truncatedReason = suspects.length < found.suspects.length ? `the ${suspects.length} best of ${found.suspects.length} suspects fit in limits.resultBytes; the others: git_log with since and until around the onset, or narrow with error_text` : null;
  const result = { named_files: found.named_files, terms: found.terms, search_note: found.search.note, suspects, truncated: truncatedReason !== null, truncated_reason: truncatedReason };
  const used = found.terms.filter((t) => t.used);
  const text = result.suspects.length
    ? result.suspects.map((s, i) => `${i + 1}. ${s.sha.slice(0, 10)} ${s.subject} (score ${s.score}): ${s.reasons.join('; ')}`).join('\n')
    : `No commit in the ${input.lookback_hours} h before ${onset.toISOString()}.`;
  const body = `${result.named_files.length ? `Files named in the errors: ${result.named_files.join(', ')}\n` : ''}${used.length ? `Names found in the code: ${used.map((t) => `${t.term} (${t.files} file${t.files === 1 ? '' : 's'})`).join(', ')}\n` : ''}${found.search.note ? `${found.search.note}\n` : ''}${text}`;
  return { structured: { onset: onset.toISOString(), ...result }, text: [`suspect commits for the onset ${onset.toISOString()}${truncatedReason ? ` — ${truncatedReason}` : ''}:`, untrustedText(body, textBudget(app.config.limits.resultBytes))] };
};

