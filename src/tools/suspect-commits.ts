import { z } from 'zod';
import { getAnomaly } from '../core/anomalies/state.js';
import { anomalyClues, suspectCommits, type AnomalyClues } from '../core/anomalies/suspects.js';
import { NotFoundError, UserInputError } from '../core/errors.js';
import { parseTimeBound } from '../core/logs/query.js';
import { getLogIndex } from '../server/engines.js';
import { defineTool } from './define-tool.js';
import { fitItems, jsonBytes, structuredBudget, textBudget, untrustedText } from './_shared.js';

export default defineTool({
  name: 'suspect_commits',
  toolset: 'anomalies',
  title: 'Suspect commits',
  description:
    'Ranks the commits most likely to have caused an anomaly (by id) or an incident (by time and optional error text): those that landed in the hours before the onset, those touching files named in the errors and stack traces (with git blame of named lines), and those touching the files and lines that hold the names the failing events carry (event, kind, tool, error prefix, also in camelCase), each with its reasons.',
  inputSchema: {
    anomaly_id: z.string().max(100).optional(),
    time: z.string().max(40).optional().describe('Onset, when there is no anomaly id (ISO or relative).'),
    error_text: z.string().max(5000).optional().describe('Error messages or a stack trace naming files.'),
    lookback_hours: z.number().min(1).max(24 * 30).default(48),
    max: z.number().int().min(1).max(30).default(10),
  },
  outputSchema: {
    onset: z.string(),
    named_files: z.array(z.string()),
    terms: z
      .array(z.object({ term: z.string(), from: z.array(z.string()), files: z.number().int(), used: z.boolean(), where: z.array(z.string()), note: z.string().nullable() }))
      .describe('Names from the events and errors, searched literally in the tracked files at the newest commit before the onset; used ones counted in the ranking.'),
    search_note: z.string().nullable().describe('What limited the search for the names, if anything.'),
    suspects: z.array(z.object({ sha: z.string(), date: z.string(), author: z.string(), subject: z.string(), score: z.number(), reasons: z.array(z.string()), files: z.array(z.string()) })),
    truncated: z.boolean().describe('Suspects were left out to fit limits.resultBytes.'),
    truncated_reason: z.string().nullable().describe('How many were left out, and how to see them.'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  // File names come from log errors; subjects and authors from commits anyone may write.
  untrusted: true,
  async handler(input, { app }) {
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
  },
});
