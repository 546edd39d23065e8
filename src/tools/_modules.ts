import type { AnyToolDefinition } from './define-tool.js';

/**
 * Every tool's module by tool name, in the order tools/list shows them; one file per tool,
 * named after it. Nothing is imported here: a server loads a tool's definition at its first
 * call (src/server/tool-catalog.ts), everything else takes ALL_TOOLS (index.ts).
 */
export const TOOL_MODULES: Readonly<Record<string, () => Promise<{ default: AnyToolDefinition }>>> = {
  selfscope_status: () => import('./selfscope-status.js'),
  query_runtime_logs: () => import('./query-runtime-logs.js'),
  get_log_event: () => import('./get-log-event.js'),
  log_timeline: () => import('./log-timeline.js'),
  detect_anomalies: () => import('./detect-anomalies.js'),
  suspect_commits: () => import('./suspect-commits.js'),
  verify_fix: () => import('./verify-fix.js'),
  run_typecheck: () => import('./run-typecheck.js'),
  run_tests: () => import('./run-tests.js'),
  git_status: () => import('./git-status.js'),
  git_log: () => import('./git-log.js'),
  git_diff: () => import('./git-diff.js'),
  git_branch_create: () => import('./git-branch-create.js'),
  git_commit: () => import('./git-commit.js'),
  git_pr_create: () => import('./git-pr-create.js'),
  git_pr_merge: () => import('./git-pr-merge.js'),
};
