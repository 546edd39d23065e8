import { investigatePlaybookParts } from '../../core/playbooks/playbooks.js';
import { aggregateRows, anomalyLine, exampleTimeline, checkPeriod, evidenceText, openAnomalies } from './_evidence.js';
import type { argsSchema } from '../investigate.js';
import type { PromptRender } from '../define-prompt.js';

/** Words of the symptom worth searching the logs for ("that music skip thing" -> music, skip). */
function searchTerms(symptom: string): string[] {
  const stop = new Set(['that', 'this', 'thing', 'again', 'broken', 'with', 'when', 'the', 'and', 'not', 'does', 'doesnt', "doesn't", 'work', 'working', 'keeps', 'from', 'what', 'there', 'about', 'some', 'stuff', 'still', 'just']);
  const words = symptom.toLowerCase().match(/[a-z0-9_]{4,}/g) ?? [];
  return [...new Set(words.filter((w) => !stop.has(w)))].slice(0, 4);
}

export const render: PromptRender<typeof argsSchema> = async (args, { app }) => {
  const since = checkPeriod(args.since ?? '24h', 'since');
  const terms = searchTerms(args.symptom);
  const anomalies = await openAnomalies(app);
  // The symptom's words are matched against what names an error: its fingerprint, tool and kind.
  const errors = await aggregateRows(app, { since, errors_only: true }, ['fingerprint', 'tool_name', 'kind'], ['count'], 50);
  const line = (r: Record<string, unknown>) => `${r['fingerprint']} (tool ${r['tool_name'] ?? '-'}, kind ${r['kind']}): ${r['count']} times`;
  const matches = (r: Record<string, unknown>) => terms.some((t) => [r['fingerprint'], r['tool_name'], r['kind']].some((v) => typeof v === 'string' && v.toLowerCase().includes(t)));
  const matched = errors.filter(matches).slice(0, 8);
  const matching = matched.map(line);
  const topErrors = matched.length ? [] : errors.slice(0, 5).map(line);
  const example = matched[0] ? await exampleTimeline(app, String(matched[0]['fingerprint'])) : [];
  const evidence = evidenceText([
    ['Open anomalies', anomalies.map(anomalyLine)],
    [`Errors matching the symptom's words (${terms.join(', ') || 'none usable'}) since ${since}, by fingerprint`, matching],
    [`No error matched those words; the top errors since ${since}`, topErrors],
    ['A recent example (log_timeline)', example],
  ]);
  return {
    description: `Investigate: ${args.symptom.slice(0, 80)}`,
    messages: [{ role: 'user', text: investigatePlaybookParts({ symptom: args.symptom, since, evidence }) }],
  };
};
