/**
 * The self-improvement playbooks: the text an agent is given to investigate a symptom, fix
 * an anomaly, or audit a period. Shared by the MCP prompts (which add live evidence) and
 * the session launcher (which starts an agent with one as its task). Evidence from logs is
 * untrusted: it is embedded only as an untrusted part, delimited with a nonce when sent.
 */

import { untrusted, type TextPart } from '../text/delimit.js';
import { assembleText } from '../text/egress.js';

/** A playbook with its evidence as an untrusted part (the MCP prompts send these through the server boundary). */
function withEvidence(lines: string[], heading: string, evidence: string | undefined): TextPart[] {
  return evidence ? [lines.join('\n'), '', heading, untrusted(evidence)] : [lines.join('\n')];
}

/** The playbook as one string, evidence delimited with a fresh nonce (for an agent started with it as its task). */
function render(parts: TextPart[]): string {
  return assembleText(parts, { blockBytes: 16_000, untrustedByDefault: false });
}

const BOUNDARY = [
  'The autonomy boundary (enforced by selfscope, not optional):',
  '- Observing, fixing in your own branch and worktree, and opening a pull request are yours to do.',
  '- git_commit refuses unless run_typecheck and run_tests both passed on exactly the tree being committed: run them after your last edit.',
  '- Security-sensitive files (CI workflows, .env files, permissions code, selfscope configuration) need a human approval: propose, do not force.',
  '- Merging needs a human. Never try to merge; say in your report that the PR waits for review.',
].join('\n');

export function investigatePlaybookParts(input: { symptom: string; since: string; evidence?: string }): TextPart[] {
  return withEvidence([
    `A user reported a problem with the bot, in their words: "${input.symptom.replace(/"/g, "'")}".`,
    `Investigate it with selfscope, over the logs since ${input.since}.`,
    '',
    'Steps:',
    '1. Confirm it in the logs: detect_anomalies, then query_runtime_logs (errors_only, text matching the symptom, group_by fingerprint) to find the failures and their counts.',
    '2. Reconstruct one example with log_timeline (by session, turn or message id) and read get_log_event for the full error.',
    '3. Find suspect commits with suspect_commits (by anomaly id, or by the onset time and error text).',
    '4. Read the code on the error path. Decide whether a fix is warranted and how confident you are.',
    '5. If a fix is warranted, follow the fix steps: git_branch_create, edit in the worktree it returns, run_typecheck, run_tests, git_commit, git_pr_create with the evidence.',
    '6. Report back in two or three sentences a person in the chat understands: what happened, how often, since when, the cause, and what you did (the PR link if any).',
    '',
    BOUNDARY,
  ], 'What selfscope already found:', input.evidence);
}

export function investigatePlaybook(input: { symptom: string; since: string; evidence?: string }): string {
  return render(investigatePlaybookParts(input));
}

export function fixAnomalyPlaybookParts(input: { anomalyId: string; evidence?: string }): TextPart[] {
  return withEvidence([
    `Fix the anomaly ${input.anomalyId} that selfscope detected in the bot's runtime logs.`,
    '',
    'Steps:',
    `1. Read the anomaly (resource selfscope://anomalies/${input.anomalyId}, or detect_anomalies) and run its evidence query with query_runtime_logs.`,
    `2. suspect_commits with anomaly_id ${input.anomalyId}; read the named files and lines.`,
    '3. git_branch_create (a name that says what the fix is); work only in the worktree it returns.',
    '4. Make the smallest change that fixes the cause, with a test that fails without it.',
    '5. run_typecheck, then run_tests, on the worktree. Fix until both pass.',
    '6. git_commit with a message that says why; then git_pr_create with the anomaly id, so the PR carries the evidence and the verification record.',
    `7. Report back where the problem was raised: cause, fix, PR link, and that merging waits for a human. Later, verify_fix with anomaly_id ${input.anomalyId} confirms it worked.`,
    '',
    BOUNDARY,
  ], 'The anomaly as selfscope sees it:', input.evidence);
}

export function fixAnomalyPlaybook(input: { anomalyId: string; evidence?: string }): string {
  return render(fixAnomalyPlaybookParts(input));
}

export function selfAuditPlaybookParts(input: { period: string; evidence?: string }): TextPart[] {
  return withEvidence([
    `Audit the bot's runtime health over the last ${input.period}.`,
    '',
    'Cover: the top error fingerprints with counts and trend; latency regressions; cost per agent; anomalies opened and resolved; pull requests waiting for a human.',
    'Use query_runtime_logs (mode aggregate: group_by fingerprint, agent, kind; metrics count, errors, error_rate, p95, sum usd_cost), detect_anomalies, and git_log.',
    'Then write a short report (at most 15 lines) with fix proposals ranked by impact (how many users or dollars each affects), each with the evidence query that shows it.',
    'Do not change code in an audit; propose. A proposal can become a fix_anomaly session.',
    '',
    BOUNDARY,
  ], 'Figures selfscope gathered:', input.evidence);
}

export function selfAuditPlaybook(input: { period: string; evidence?: string }): string {
  return render(selfAuditPlaybookParts(input));
}
