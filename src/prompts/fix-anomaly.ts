import { z } from 'zod';
import { definePrompt } from './define-prompt.js';

export const argsSchema = {
  anomaly_id: z.string().min(1).max(100).describe('From detect_anomalies or selfscope://anomalies/open.'),
};

export default definePrompt({
  name: 'fix_anomaly',
  title: 'Fix an anomaly',
  description: 'The evidence for one anomaly (by id, completed from the open ones), its suspect commits, and the steps: branch in a worktree, fix, run_typecheck, run_tests, commit, PR, report back, later verify_fix.',
  // Its steps branch, check, commit and open a PR: without those tools it cannot be followed.
  needsTools: ['query_runtime_logs', 'suspect_commits', 'git_branch_create', 'run_typecheck', 'run_tests', 'git_commit', 'git_pr_create'],
  usesTools: ['detect_anomalies', 'verify_fix'],
  argsSchema,
  completes: ['anomaly_id'],
  load: () => import('./handlers/fix-anomaly.js'),
});
