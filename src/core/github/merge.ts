import type { ConfigFile } from '../../config/schema.js';
import { verificationFor } from '../checks/attestation.js';
import { ConfigurationError, PolicyError } from '../errors.js';
import { GitRunner } from '../git/runner.js';
import { findApproval, recordApproval } from '../policy/approvals.js';
import { githubError, githubToken, octokit, repoCoordinates } from './pull-request.js';

/**
 * The merge gate. A pull request is merged only when (1) its head tree passed typecheck
 * and tests here, (2) its checks on GitHub are green where there are any, and (3) a human
 * approved: an approving review by a configured approver, a confirmation accepted by the
 * user of the client, or the bot (a trusted process) on behalf of an allowed user.
 */

export type MergeOutcome =
  | { merged: true; number: number; sha: string; approval: string }
  | { merged: false; number: number; status: 'approval_required' | 'checks_failed' | 'checks_pending' | 'not_verified' | 'not_mergeable'; what_to_do: string; details: Record<string, unknown> };

export interface MergeRequest {
  repo: string;
  config: ConfigFile & { stateDirPath: string };
  number: number;
  method?: 'merge' | 'squash' | 'rebase';
  /** From the trusted CLI (`selfscope merge --approved-by`): a bot user id. */
  approvedByUserId?: string;
  askHuman?: (question: { message: string }) => Promise<{ approvedBy: string } | null>;
  env?: NodeJS.ProcessEnv;
}

export async function mergePullRequest(req: MergeRequest): Promise<MergeOutcome> {
  const token = githubToken(req.config.github, req.env);
  if (!token) throw new ConfigurationError('Merging needs a GitHub token.', { hint: 'Set GITHUB_TOKEN in the environment selfscope runs in.' });
  const git = new GitRunner(req.repo);
  const coords = await repoCoordinates(git, req.config);
  if (!coords) throw new ConfigurationError('No GitHub repository is configured.', { hint: 'Set github.owner and github.repo, or use a GitHub remote.' });
  const gh = await octokit(req.config.github, token);
  const n = req.number;
  let pr;
  try {
    pr = (await gh.pulls.get({ owner: coords.owner, repo: coords.repo, pull_number: n })).data;
  } catch (error) {
    throw githubError(error, `read pull request #${n}`, token);
  }
  if (pr.state !== 'open' || pr.merged) return { merged: false, number: n, status: 'not_mergeable', what_to_do: `Pull request #${n} is ${pr.merged ? 'merged already' : pr.state}.`, details: {} };

  // (1) The head tree passed typecheck and tests here.
  let tree: string | null = null;
  try {
    tree = (await git.run(['rev-parse', '--verify', '--end-of-options', `${pr.head.sha}^{tree}`])).trim();
  } catch {
    tree = null;
  }
  const verification = tree ? await verificationFor(req.config.stateDirPath, tree) : null;
  if (!verification?.verified) {
    return {
      merged: false,
      number: n,
      status: 'not_verified',
      what_to_do: `The head of #${n} (${pr.head.sha.slice(0, 12)}) has no record of typecheck and tests passing on its tree. Run run_typecheck and run_tests on that branch's worktree.`,
      details: { head: pr.head.sha, tree, missing: verification?.missing ?? ['typecheck', 'test'] },
    };
  }

  // (2) GitHub's checks are green where there are any.
  try {
    const checks = (await gh.checks.listForRef({ owner: coords.owner, repo: coords.repo, ref: pr.head.sha, per_page: 100 })).data.check_runs;
    const status = (await gh.repos.getCombinedStatusForRef({ owner: coords.owner, repo: coords.repo, ref: pr.head.sha })).data;
    const failed = checks.filter((c) => c.status === 'completed' && !['success', 'neutral', 'skipped'].includes(c.conclusion ?? '')).map((c) => c.name);
    const pending = checks.filter((c) => c.status !== 'completed').map((c) => c.name);
    if (failed.length || (status.total_count > 0 && status.state === 'failure')) {
      return { merged: false, number: n, status: 'checks_failed', what_to_do: `GitHub checks failed on #${n}: ${failed.join(', ') || 'commit status'}. Fix them first.`, details: { failed } };
    }
    if (pending.length || (status.total_count > 0 && status.state === 'pending')) {
      return { merged: false, number: n, status: 'checks_pending', what_to_do: `GitHub checks are still running on #${n}: ${pending.join(', ') || 'commit status'}. Try again when they finish.`, details: { pending } };
    }
  } catch (error) {
    throw githubError(error, `read the checks of #${n}`, token);
  }

  // (3) A human approved.
  let approval = await findApproval(req.config.stateDirPath, 'merge', `${coords.owner}/${coords.repo}#${n}@${pr.head.sha}`);
  if (!approval && req.config.github.approvers.length > 0) {
    try {
      const reviews = (await gh.pulls.listReviews({ owner: coords.owner, repo: coords.repo, pull_number: n, per_page: 100 })).data;
      const latest = new Map<string, string>();
      for (const r of reviews) if (r.user?.login && r.commit_id === pr.head.sha) latest.set(r.user.login, r.state);
      const approver = req.config.github.approvers.find((login) => latest.get(login) === 'APPROVED');
      if (approver) approval = await recordApproval(req.config.stateDirPath, { kind: 'merge', subject: `${coords.owner}/${coords.repo}#${n}@${pr.head.sha}`, approved_by: approver, via: 'github_review' });
    } catch (error) {
      throw githubError(error, `read the reviews of #${n}`, token);
    }
  }
  if (!approval && req.approvedByUserId !== undefined) {
    if (!req.config.github.allowedUserIds.includes(req.approvedByUserId)) {
      throw new PolicyError(`User ${req.approvedByUserId.slice(0, 30)} is not allowed to approve merges.`, { hint: 'Add the id to github.allowedUserIds (the bot\'s devPermissions.allowedUserIds).' });
    }
    approval = await recordApproval(req.config.stateDirPath, { kind: 'merge', subject: `${coords.owner}/${coords.repo}#${n}@${pr.head.sha}`, approved_by: req.approvedByUserId, via: 'cli' });
  }
  if (!approval && req.askHuman) {
    const answer = await req.askHuman({ message: `Merge pull request #${n} "${pr.title.slice(0, 120)}" (${pr.changed_files ?? '?'} files, +${pr.additions ?? '?'} -${pr.deletions ?? '?'}) into ${pr.base.ref}? Typecheck and tests passed on its head tree ${tree}.` });
    if (answer) approval = await recordApproval(req.config.stateDirPath, { kind: 'merge', subject: `${coords.owner}/${coords.repo}#${n}@${pr.head.sha}`, approved_by: answer.approvedBy, via: 'elicitation' });
  }
  if (!approval) {
    return {
      merged: false,
      number: n,
      status: 'approval_required',
      what_to_do: `A human must approve #${n}: an approving review on GitHub by one of ${req.config.github.approvers.join(', ') || '(configure github.approvers)'}, or tell the bot "ship it" (it runs selfscope merge ${n} --approved-by <your id>).`,
      details: { url: pr.html_url },
    };
  }
  try {
    const merged = await gh.pulls.merge({ owner: coords.owner, repo: coords.repo, pull_number: n, sha: pr.head.sha, merge_method: req.method ?? 'squash' });
    return { merged: true, number: n, sha: merged.data.sha, approval: approval.id };
  } catch (error) {
    throw githubError(error, `merge #${n}`, token);
  }
}
