import { z } from 'zod';
import { definePrompt } from './define-prompt.js';

export const argsSchema = {
  symptom: z.string().min(1).max(2000).describe('What the user said, in their words.'),
  since: z.string().max(20).optional().describe('How far back to look (default 24h).'),
};

export default definePrompt({
  name: 'investigate',
  title: 'Investigate a reported problem',
  description: 'A symptom in the user\'s words ("the music skip thing is broken again"): open anomalies, matching error fingerprints with counts, a recent example, and the playbook to confirm, find suspect commits, read the code and decide on a fix.',
  needsTools: ['query_runtime_logs', 'detect_anomalies'],
  // The fix step is conditional: a read-only session still investigates, told what it lacks.
  usesTools: ['log_timeline', 'get_log_event', 'suspect_commits', 'git_branch_create', 'run_typecheck', 'run_tests', 'git_commit', 'git_pr_create'],
  argsSchema,
  load: () => import('./handlers/investigate.js'),
});
