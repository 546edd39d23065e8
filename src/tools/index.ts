import type { AnyToolDefinition } from './define-tool.js';
import detectAnomalies from './detect-anomalies.js';
import getLogEvent from './get-log-event.js';
import gitBranchCreate from './git-branch-create.js';
import gitCommit from './git-commit.js';
import gitDiff from './git-diff.js';
import gitLog from './git-log.js';
import gitPrCreate from './git-pr-create.js';
import gitPrMerge from './git-pr-merge.js';
import gitStatus from './git-status.js';
import logTimeline from './log-timeline.js';
import queryRuntimeLogs from './query-runtime-logs.js';
import runTests from './run-tests.js';
import runTypecheck from './run-typecheck.js';
import selfscopeStatus from './selfscope-status.js';
import suspectCommits from './suspect-commits.js';
import verifyFix from './verify-fix.js';

/** Every tool, in the order `tools/list` shows them. One file per tool, named after it. */
export const ALL_TOOLS: readonly AnyToolDefinition[] = [selfscopeStatus, queryRuntimeLogs, getLogEvent, logTimeline, detectAnomalies, suspectCommits, verifyFix, runTypecheck, runTests, gitStatus, gitLog, gitDiff, gitBranchCreate, gitCommit, gitPrCreate, gitPrMerge];
