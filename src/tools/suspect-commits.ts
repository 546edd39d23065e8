import { z } from 'zod';
import { defineTool } from './define-tool.js';

export const inputSchema = {
  anomaly_id: z.string().max(100).optional(),
  time: z.string().max(40).optional().describe('Onset, when there is no anomaly id (ISO or relative).'),
  error_text: z.string().max(5000).optional().describe('Error messages or a stack trace naming files.'),
  lookback_hours: z.number().min(1).max(24 * 30).default(48),
  max: z.number().int().min(1).max(30).default(10),
};

export const outputSchema = {
  onset: z.string(),
  named_files: z.array(z.string()),
  terms: z
    .array(z.object({ term: z.string(), from: z.array(z.string()), files: z.number().int(), used: z.boolean(), where: z.array(z.string()), note: z.string().nullable() }))
    .describe('Names from the events and errors, searched literally in the tracked files at the newest commit before the onset; used ones counted in the ranking.'),
  search_note: z.string().nullable().describe('What limited the search for the names, if anything.'),
  suspects: z.array(z.object({ sha: z.string(), date: z.string(), author: z.string(), subject: z.string(), score: z.number(), reasons: z.array(z.string()), files: z.array(z.string()) })),
  truncated: z.boolean().describe('Suspects were left out to fit limits.resultBytes.'),
  truncated_reason: z.string().nullable().describe('How many were left out, and how to see them.'),
};

export default defineTool({
  name: 'suspect_commits',
  toolset: 'anomalies',
  title: 'Suspect commits',
  description:
    'Ranks the commits most likely to have caused an anomaly (by id) or an incident (by time and optional error text): those that landed in the hours before the onset, those touching files named in the errors and stack traces (with git blame of named lines), and those touching the files and lines that hold the names the failing events carry (event, kind, tool, error prefix, also in camelCase), each with its reasons.',
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  // File names come from log errors; subjects and authors from commits anyone may write.
  untrusted: true,
  load: () => import('./handlers/suspect-commits.js'),
});
