import type { Octokit } from '@octokit/rest';
import type { ConfigFile } from '../../config/schema.js';
import { appendAudit } from '../audit/audit-log.js';
import { verificationFor } from '../checks/attestation.js';
import { ConfigurationError, PolicyError, UserInputError } from '../errors.js';
import { GitRunner } from '../git/runner.js';
import { findApproval, recordApproval, type ApprovalChannel } from '../policy/approvals.js';
import { githubError, githubToken, octokit, repoCoordinates } from './pull-request.js';

/**
 * The merge gate. A pull request is merged only when (1) its head tree passed typecheck
 * and tests here, (2) its checks on GitHub are green where there are any, and (3) a human
 * approved its current head through a channel an agent cannot answer:
 *
 * - an approving review on GitHub, at the head, by a configured approver who is not the
 *   token's own account: read from GitHub at every merge, never stored;
 * - `selfscope approve --pr N` typed by a person at an interactive terminal: a signed record
 *   bound to `owner/repo#N@head` (it trusts the machine's user);
 * - the bot's own process, through this module's API (`approvedByUserId`, `approveMerge`),
 *   for a user in `github.allowedUserIds`: a signed record bound the same way.
 *
 * An MCP client's confirmation (elicitation) never approves a merge: a client can answer
 * its own questions. Neither does any command-line flag or tool argument.
 */

export type MergeConfig = ConfigFile & { stateDirPath: string; privateDirPath: string };

/** The channels that approve a merge. */
export type MergeApprovalChannel = 'github_review' | 'terminal' | 'bot';

/** Stored approvals that count for a merge; older `cli`, `elicitation` and review records do not. */
const STORED_MERGE_CHANNELS: readonly ApprovalChannel[] = ['terminal', 'bot'];

export type MergeOutcome =
  | { merged: true; number: number; sha: string; approval: string; approved_via: MergeApprovalChannel; approved_by: string }
  | { merged: false; number: number; status: 'approval_required' | 'checks_failed' | 'checks_pending' | 'not_verified' | 'not_mergeable'; what_to_do: string; details: Record<string, unknown> };

export interface MergeRequest {
  repo: string;
  config: MergeConfig;
  number: number;
  method?: 'merge' | 'squash' | 'rebase';
  /**
   * The bot's own process, for an allowed user who said "ship it" (github.allowedUserIds).
   * Only the TypeScript API takes it: no tool argument or command-line flag reaches it.
   */
  approvedByUserId?: string;
  /** Who is asking, for the audit log (the tool or command). */
  caller?: string;
  env?: NodeJS.ProcessEnv;
}

/** What a person is shown before approving a merge, read from GitHub. */
export interface PullRequestSummary {
  owner: string;
  repo: string;
  number: number;
  title: string;
  state: string;
  merged: boolean;
  head: string;
  head_ref: string;
  base_ref: string;
  url: string;
  changed_files: number | null;
  additions: number | null;
  deletions: number | null;
  files: Array<{ filename: string; status: string; additions: number; deletions: number }>;
  /** The signed approval's subject: this pull request at this head. */
  subject: string;
}

export function mergeSubject(owner: string, repo: string, number: number, head: string): string {
  return `${owner}/${repo}#${number}@${head}`;
}

/** What a person types to approve at a terminal: the head's short sha, so they look at it. */
export function mergeConfirmationCode(head: string): string {
  return head.slice(0, 7);
}

interface GitHubSession {
  token: string;
  gh: Octokit;
  owner: string;
  repo: string;
  git: GitRunner;
}

async function connect(repo: string, config: MergeConfig, env: NodeJS.ProcessEnv | undefined): Promise<GitHubSession> {
  const token = githubToken(config.github, env);
  if (!token) throw new ConfigurationError('Merging needs a GitHub token.', { hint: 'Set GITHUB_TOKEN in the environment selfscope runs in (or github.tokenFile).' });
  const git = new GitRunner(repo);
  const coords = await repoCoordinates(git, config);
  if (!coords) throw new ConfigurationError('No GitHub repository is configured.', { hint: 'Set github.owner and github.repo, or use a GitHub remote.' });
  return { token, gh: await octokit(config.github, token), owner: coords.owner, repo: coords.repo, git };
}

function checkPullNumber(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new UserInputError(`${String(n).slice(0, 20)} is not a pull request number.`, { hint: 'Give the number GitHub shows, e.g. 48.' });
}

/** The pull request as GitHub has it now: title, head, base and diff stat. */
export async function readPullRequestSummary(options: { repo: string; config: MergeConfig; number: number; env?: NodeJS.ProcessEnv }): Promise<PullRequestSummary> {
  checkPullNumber(options.number);
  const s = await connect(options.repo, options.config, options.env);
  return summarize(s, options.number);
}

async function summarize(s: GitHubSession, n: number): Promise<PullRequestSummary> {
  let pr;
  let files;
  try {
    pr = (await s.gh.pulls.get({ owner: s.owner, repo: s.repo, pull_number: n })).data;
    files = (await s.gh.pulls.listFiles({ owner: s.owner, repo: s.repo, pull_number: n, per_page: 100 })).data;
  } catch (error) {
    throw githubError(error, `read pull request #${n}`, s.token);
  }
  return {
    owner: s.owner,
    repo: s.repo,
    number: n,
    title: pr.title,
    state: pr.state,
    merged: pr.merged === true,
    head: pr.head.sha,
    head_ref: pr.head.ref,
    base_ref: pr.base.ref,
    url: pr.html_url,
    changed_files: pr.changed_files ?? null,
    additions: pr.additions ?? null,
    deletions: pr.deletions ?? null,
    files: files.map((f) => ({ filename: f.filename, status: f.status, additions: f.additions, deletions: f.deletions })),
    subject: mergeSubject(s.owner, s.repo, n, pr.head.sha),
  };
}

function auditApproval(config: MergeConfig, caller: string, outcome: string, subject: string, details: Record<string, unknown>, userId?: string): Promise<void> {
  return appendAudit(config.privateDirPath, {
    kind: 'selfscope_policy',
    event: 'merge_approval',
    tool: caller,
    outcome,
    arguments: { subject },
    details,
    ...(userId !== undefined ? { user_id: userId } : {}),
  });
}

async function checkAllowedUser(config: MergeConfig, caller: string, subject: string, userId: string): Promise<void> {
  if (config.github.allowedUserIds.includes(userId)) return;
  await auditApproval(config, caller, 'refused: user not allowed', subject, { channel: 'bot' }, userId);
  throw new PolicyError(`User ${userId.slice(0, 30)} is not allowed to approve merges.`, { hint: "Only ids in github.allowedUserIds (the bot's devPermissions.allowedUserIds) can approve a merge through the bot." });
}

/**
 * The bot's own process records that an allowed user approved merging pull request #N at
 * its current head (e.g. they said "ship it" while checks still run). A later merge of that
 * head, by the bot or an agent's `git_pr_merge`, counts it; a new head needs a new approval.
 */
export async function approveMerge(req: { repo: string; config: MergeConfig; number: number; approvedByUserId: string; env?: NodeJS.ProcessEnv }): Promise<{ approval: string; subject: string; head: string }> {
  checkPullNumber(req.number);
  const s = await connect(req.repo, req.config, req.env);
  await checkAllowedUser(req.config, 'approveMerge', `${s.owner}/${s.repo}#${req.number}`, req.approvedByUserId);
  const pr = await summarize(s, req.number);
  if (pr.state !== 'open' || pr.merged) {
    await auditApproval(req.config, 'approveMerge', `refused: pull request ${pr.merged ? 'merged' : pr.state}`, pr.subject, { channel: 'bot' }, req.approvedByUserId);
    throw new UserInputError(`Pull request #${req.number} is ${pr.merged ? 'merged already' : pr.state}.`, { hint: 'Only an open pull request can be approved.' });
  }
  const approval = await recordApproval(req.config.privateDirPath, { kind: 'merge', subject: pr.subject, approved_by: req.approvedByUserId, via: 'bot' });
  await auditApproval(req.config, 'approveMerge', 'granted', pr.subject, { channel: 'bot', approval: approval.id }, req.approvedByUserId);
  return { approval: approval.id, subject: pr.subject, head: pr.head };
}

type ReviewVerdict = { approvedBy: string; reviewId: number } | { approvedBy: null; notes: string[] };

/**
 * An approving review by a configured approver at exactly `head`, read from GitHub now.
 * Each reviewer's latest decisive review counts (a later "changes requested" or a dismissal
 * undoes an approval; comments do not); reviews by the token's own account or by bots never do.
 */
async function reviewApproval(s: GitHubSession, n: number, head: string, approvers: readonly string[]): Promise<ReviewVerdict> {
  if (approvers.length === 0) return { approvedBy: null, notes: ['no github.approvers are configured'] };
  let self: string | null = null;
  try {
    self = (await s.gh.users.getAuthenticated()).data.login.toLowerCase();
  } catch (error) {
    // Without the token's identity a review could be the agent's own: none counts.
    return { approvedBy: null, notes: [`the token's own account could not be read (GET /user: ${(error as { status?: number }).status ?? 'failed'}), so no review counts`] };
  }
  let reviews;
  try {
    reviews = await s.gh.paginate(s.gh.pulls.listReviews, { owner: s.owner, repo: s.repo, pull_number: n, per_page: 100 });
  } catch (error) {
    throw githubError(error, `read the reviews of #${n}`, s.token);
  }
  const wanted = new Set(approvers.map((a) => a.toLowerCase()));
  const latest = new Map<string, { state: string; commit: string | null; id: number }>();
  const notes: string[] = [];
  const ordered = [...reviews].sort((a, b) => Date.parse(a.submitted_at ?? '') - Date.parse(b.submitted_at ?? '') || 0);
  for (const r of ordered) {
    const login = r.user?.login?.toLowerCase();
    if (!login || r.user?.type === 'Bot' || !['APPROVED', 'CHANGES_REQUESTED', 'DISMISSED'].includes(r.state)) continue;
    latest.set(login, { state: r.state, commit: r.commit_id ?? null, id: r.id });
  }
  for (const [login, r] of latest) {
    if (r.state !== 'APPROVED') continue;
    if (login === self) notes.push(`${login} approved, but that is the token's own account`);
    else if (!wanted.has(login)) notes.push(`${login} approved, but is not in github.approvers`);
    else if (r.commit !== head) notes.push(`${login} approved an older head (${(r.commit ?? '?').slice(0, 12)})`);
    else return { approvedBy: login, reviewId: r.id };
  }
  return { approvedBy: null, notes };
}

export async function mergePullRequest(req: MergeRequest): Promise<MergeOutcome> {
  const caller = req.caller ?? 'mergePullRequest';
  checkPullNumber(req.number);
  const s = await connect(req.repo, req.config, req.env);
  const n = req.number;
  let pr;
  try {
    pr = (await s.gh.pulls.get({ owner: s.owner, repo: s.repo, pull_number: n })).data;
  } catch (error) {
    throw githubError(error, `read pull request #${n}`, s.token);
  }
  if (pr.state !== 'open' || pr.merged) return { merged: false, number: n, status: 'not_mergeable', what_to_do: `Pull request #${n} is ${pr.merged ? 'merged already' : pr.state}.`, details: {} };
  const head = pr.head.sha;
  const subject = mergeSubject(s.owner, s.repo, n, head);
  // A wrong user id from the bot is an error whatever else holds.
  if (req.approvedByUserId !== undefined) await checkAllowedUser(req.config, caller, subject, req.approvedByUserId);

  // (1) The head tree passed typecheck and tests here.
  let tree: string | null = null;
  try {
    tree = (await s.git.run(['rev-parse', '--verify', '--end-of-options', `${head}^{tree}`])).trim();
  } catch {
    tree = null;
  }
  const verification = tree ? await verificationFor(req.config.privateDirPath, tree) : null;
  if (!verification?.verified) {
    return {
      merged: false,
      number: n,
      status: 'not_verified',
      what_to_do: `The head of #${n} (${head.slice(0, 12)}) has no record of typecheck and tests passing on its tree. Run run_typecheck and run_tests on that branch's worktree.`,
      details: { head, tree, missing: verification?.missing ?? ['typecheck', 'test'] },
    };
  }

  // (2) GitHub's checks are green where there are any.
  try {
    const checks = (await s.gh.checks.listForRef({ owner: s.owner, repo: s.repo, ref: head, per_page: 100 })).data.check_runs;
    const status = (await s.gh.repos.getCombinedStatusForRef({ owner: s.owner, repo: s.repo, ref: head })).data;
    const failed = checks.filter((c) => c.status === 'completed' && !['success', 'neutral', 'skipped'].includes(c.conclusion ?? '')).map((c) => c.name);
    const pending = checks.filter((c) => c.status !== 'completed').map((c) => c.name);
    if (failed.length || (status.total_count > 0 && status.state === 'failure')) {
      return { merged: false, number: n, status: 'checks_failed', what_to_do: `GitHub checks failed on #${n}: ${failed.join(', ') || 'commit status'}. Fix them first.`, details: { failed } };
    }
    if (pending.length || (status.total_count > 0 && status.state === 'pending')) {
      return { merged: false, number: n, status: 'checks_pending', what_to_do: `GitHub checks are still running on #${n}: ${pending.join(', ') || 'commit status'}. Try again when they finish.`, details: { pending } };
    }
  } catch (error) {
    throw githubError(error, `read the checks of #${n}`, s.token);
  }

  // (3) A human approved this head, through a channel no agent can answer.
  let approval: { id: string; via: MergeApprovalChannel; by: string } | null = null;
  let notes: string[] = [];
  if (req.approvedByUserId !== undefined) {
    const recorded = await recordApproval(req.config.privateDirPath, { kind: 'merge', subject, approved_by: req.approvedByUserId, via: 'bot' });
    approval = { id: recorded.id, via: 'bot', by: req.approvedByUserId };
  }
  if (!approval) {
    const stored = await findApproval(req.config.privateDirPath, 'merge', subject, STORED_MERGE_CHANNELS);
    if (stored) approval = { id: stored.id, via: stored.via as MergeApprovalChannel, by: stored.approved_by };
  }
  if (!approval) {
    // Never stored: a review can be dismissed, and the head can move; GitHub says now.
    const verdict = await reviewApproval(s, n, head, req.config.github.approvers);
    if (verdict.approvedBy !== null) approval = { id: `review-${verdict.reviewId}`, via: 'github_review', by: verdict.approvedBy };
    else notes = verdict.notes;
  }
  if (!approval) {
    await auditApproval(req.config, caller, 'refused: no human approval', subject, { channels_checked: [...STORED_MERGE_CHANNELS, 'github_review'], notes });
    const approvers = req.config.github.approvers;
    return {
      merged: false,
      number: n,
      status: 'approval_required',
      what_to_do:
        `A human must approve #${n} at its head ${head.slice(0, 12)}; an agent cannot, and a confirmation in an MCP client does not count. Any one of: ` +
        `(1) an approving review on GitHub at this head by ${approvers.length ? approvers.join(', ') : 'a github.approvers member (none configured)'} (not the token's own account); ` +
        `(2) a person runs \`selfscope approve --pr ${n}\` in a terminal on this machine; ` +
        `(3) an allowed user (github.allowedUserIds) tells the bot "ship it". Then try the merge again.`,
      details: { url: pr.html_url, head, notes },
    };
  }
  await auditApproval(req.config, caller, 'granted', subject, { channel: approval.via, approval: approval.id, by: approval.by }, approval.via === 'bot' ? approval.by : undefined);

  try {
    // `sha` makes GitHub refuse if the head moved after the approval was checked.
    const merged = await s.gh.pulls.merge({ owner: s.owner, repo: s.repo, pull_number: n, sha: head, merge_method: req.method ?? 'squash' });
    return { merged: true, number: n, sha: merged.data.sha, approval: approval.id, approved_via: approval.via, approved_by: approval.by };
  } catch (error) {
    throw githubError(error, `merge #${n}`, s.token);
  }
}
