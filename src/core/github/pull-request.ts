import fs from 'node:fs/promises';
import path from 'node:path';
import type { Octokit } from '@octokit/rest';
import type { ConfigFile } from '../../config/schema.js';
import { verificationFor } from '../checks/attestation.js';
import { UpstreamError, UserInputError } from '../errors.js';
import { gitDiff } from '../git/inspect.js';
import { GitRunner } from '../git/runner.js';
import { redactSecrets } from '../text/secrets.js';
import { parseGitHubRemote } from './remote.js';

/**
 * Pull requests: push the branch, open (or update) one PR per anomaly with the evidence,
 * or, without a token or a GitHub remote, write a local proposal for a human to review.
 * The token comes from the environment or the configuration and never appears in argv,
 * files, logs, tool results or error messages.
 */

export interface Evidence {
  anomaly_id?: string;
  summary?: string;
  figures?: string;
  queries?: string[];
}

export interface PullRequestResult {
  kind: 'github' | 'local_proposal';
  number: number | null;
  url: string | null;
  updated: boolean;
  pushed: boolean;
  proposal_dir: string | null;
  branch: string;
  head: string;
  tree: string;
}

export function githubToken(config: ConfigFile['github'], env: NodeJS.ProcessEnv = process.env): string | null {
  return env['GITHUB_TOKEN'] || env['GH_TOKEN'] || null;
}

/** Turns an Octokit failure into a message that helps and never holds the token. */
export function githubError(error: unknown, action: string, token: string | null): UpstreamError {
  const status = (error as { status?: number }).status;
  const headers = ((error as { response?: { headers?: Record<string, string> } }).response?.headers ?? {}) as Record<string, string>;
  const raw = String((error as { message?: string }).message ?? error);
  const clean = (token ? raw.split(token).join('[token]') : raw).slice(0, 300);
  let message: string;
  let hint: string;
  if (status === 401) {
    message = `GitHub refused the token (401) while trying to ${action}.`;
    hint = 'Set GITHUB_TOKEN to a valid token with the repo scope (or contents:write and pull_requests:write).';
  } else if (status === 403 && (headers['x-ratelimit-remaining'] === '0' || /rate limit/i.test(raw))) {
    const reset = Number(headers['x-ratelimit-reset']);
    message = `GitHub's rate limit is spent (403) while trying to ${action}.`;
    hint = Number.isFinite(reset) && reset > 0 ? `Try again after ${new Date(reset * 1000).toISOString()}.` : 'Try again later.';
  } else if (status === 403) {
    message = `GitHub forbade it (403) while trying to ${action}.`;
    hint = 'The token lacks permission for this repository: it needs contents:write and pull_requests:write.';
  } else if (status === 422) {
    message = `GitHub rejected the request (422) while trying to ${action}: ${redactSecrets(clean)}.`;
    hint = 'Check the branch was pushed and differs from the base, and that no identical PR exists.';
  } else if (status === 404) {
    message = `GitHub found no such repository or pull request (404) while trying to ${action}.`;
    hint = 'Check github.owner/github.repo (or the remote URL) and that the token can see the repository.';
  } else {
    message = `GitHub failed (${status ?? 'network'}) while trying to ${action}.`;
    hint = 'Try again; if it persists, check GitHub status and the network.';
  }
  return new UpstreamError(message, { hint, details: { status: status ?? null } });
}

/** Loaded on first use: only pull requests and merges need it. */
export async function octokit(config: ConfigFile['github'], token: string): Promise<Octokit> {
  const { Octokit } = await import('@octokit/rest');
  return new Octokit({ auth: token, baseUrl: config.apiUrl, userAgent: 'selfscope', request: { retries: 0 } });
}

export async function repoCoordinates(git: GitRunner, config: ConfigFile): Promise<{ owner: string; repo: string } | null> {
  if (config.github.owner && config.github.repo) return { owner: config.github.owner, repo: config.github.repo };
  try {
    const url = (await git.run(['remote', 'get-url', '--end-of-options', config.git.remote])).trim();
    return parseGitHubRemote(url);
  } catch {
    return null;
  }
}

async function hasRemote(git: GitRunner, remote: string): Promise<boolean> {
  try {
    await git.run(['remote', 'get-url', '--end-of-options', remote]);
    return true;
  } catch {
    return false;
  }
}

/** Pushes `branch` to the remote; a GitHub token travels in an environment header, never argv. */
export async function pushBranch(git: GitRunner, remote: string, branch: string, token: string | null): Promise<void> {
  const env: Record<string, string> = {};
  if (token) {
    const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
    Object.assign(env, { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.https://github.com/.extraheader', GIT_CONFIG_VALUE_0: `AUTHORIZATION: basic ${basic}` });
  }
  try {
    await git.run(['push', '--porcelain', '--end-of-options', remote, `refs/heads/${branch}:refs/heads/${branch}`], { env, timeoutMs: 120_000 });
  } catch (error) {
    const text = String((error as Error).message ?? error);
    const clean = token ? text.split(token).join('[token]') : text;
    throw new UpstreamError(`Pushing ${branch} to ${remote} failed.`, {
      hint: /non-fast-forward|rejected/.test(clean) ? 'The remote branch has other commits: pick a new branch name.' : 'Check the remote URL and credentials (GITHUB_TOKEN for GitHub).',
      details: { git: redactSecrets(clean).slice(0, 500) },
    });
  }
}

export function pullRequestBody(input: { evidence: Evidence; verification: string; diffStat: string; branch: string }): string {
  const e = input.evidence;
  return [
    input.evidence.anomaly_id ? `<!-- selfscope:anomaly=${input.evidence.anomaly_id} -->` : '',
    '## What and why',
    '',
    e.summary ? redactSecrets(e.summary) : '_(no summary given)_',
    '',
    ...(e.anomaly_id ? ['## The anomaly', '', `- id: \`${e.anomaly_id}\``, ...(e.figures ? [`- figures: ${redactSecrets(e.figures)}`] : []), ''] : []),
    ...(e.queries && e.queries.length ? ['## Evidence queries', '', ...e.queries.map((q) => `\`\`\`json\n${redactSecrets(q)}\n\`\`\``), ''] : []),
    '## Verification',
    '',
    input.verification,
    '',
    '## Diff stat',
    '',
    '```',
    input.diffStat,
    '```',
    '',
    '---',
    'Opened by selfscope, the self-improvement agent. **Merging needs a human**: review, approve, and merge (or ask the bot to, after approving).',
  ]
    .filter((l, i) => !(i === 0 && l === ''))
    .join('\n');
}

export interface CreatePullRequestOptions {
  worktree: string;
  config: ConfigFile & { stateDirPath: string };
  title: string;
  evidence: Evidence;
  base?: string;
  env?: NodeJS.ProcessEnv;
}

export async function createPullRequest(options: CreatePullRequestOptions): Promise<PullRequestResult> {
  const { config, worktree } = options;
  if (!options.title.trim() || options.title.length > 250) throw new UserInputError('The title must be 1 to 250 characters.', { hint: 'Say what the fix does, like a commit subject.' });
  const git = new GitRunner(worktree);
  const branch = (await git.run(['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => '')).trim();
  if (!branch) throw new UserInputError('The worktree is not on a branch.', { hint: 'Use the worktree git_branch_create returned.' });
  const head = (await git.run(['rev-parse', 'HEAD'])).trim();
  const tree = (await git.run(['rev-parse', 'HEAD^{tree}'])).trim();
  const verification = await verificationFor(config.stateDirPath, tree);
  const base = options.base ?? config.git.defaultBranch ?? 'main';
  const stat = await gitDiff(worktree, { mode: 'range', base, head: 'HEAD', statOnly: true, perPage: 100 }).catch(() => null);
  const diffStat = stat ? [...stat.files.map((f) => `${f.path} | +${f.added ?? '?'} -${f.deleted ?? '?'}`), `${stat.stat.files} files, +${stat.stat.added} -${stat.stat.deleted}`].join('\n') : '(unavailable)';
  const verificationText = verification.verified
    ? [`Typecheck and tests passed on tree \`${tree}\` (the committed tree):`, `- typecheck: \`${verification.typecheck!.command.join(' ')}\` (run ${verification.typecheck!.id})`, `- tests: \`${verification.test!.command.join(' ')}\` (run ${verification.test!.id})${verification.test!.counts ? `: ${verification.test!.counts.passed} passed, ${verification.test!.counts.failed} failed, ${verification.test!.counts.skipped} skipped` : ''}`].join('\n')
    : `Not verified on tree \`${tree}\` (missing: ${verification.missing.join(', ')}).`;
  const body = pullRequestBody({ evidence: options.evidence, verification: verificationText, diffStat, branch });

  const token = githubToken(config.github, options.env);
  const remoteExists = await hasRemote(git, config.git.remote);
  let pushed = false;
  if (remoteExists) {
    await pushBranch(git, config.git.remote, branch, token);
    pushed = true;
  }
  const coords = remoteExists ? await repoCoordinates(git, config) : null;
  if (!token || !coords) {
    const dir = path.join(config.stateDirPath, 'proposals', branch.replace(/[^A-Za-z0-9._-]+/g, '-'));
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const patch = await git.run(['format-patch', '--stdout', '--no-color', '--end-of-options', `${base}..HEAD`]).catch(() => '');
    await fs.writeFile(path.join(dir, 'change.patch'), patch);
    await fs.writeFile(path.join(dir, 'PROPOSAL.md'), `# ${options.title}\n\nBranch: \`${branch}\` at \`${head}\`${pushed ? ` (pushed to ${config.git.remote})` : ''}\n\n${body}\n\nApply with: \`git am ${path.join(dir, 'change.patch')}\`\n`);
    return { kind: 'local_proposal', number: null, url: null, updated: false, pushed, proposal_dir: dir, branch, head, tree };
  }

  const gh = await octokit(config.github, token);
  try {
    const marker = options.evidence.anomaly_id ? `<!-- selfscope:anomaly=${options.evidence.anomaly_id} -->` : null;
    if (marker) {
      const open = await gh.pulls.list({ owner: coords.owner, repo: coords.repo, state: 'open', per_page: 100 });
      const existing = open.data.find((pr) => (pr.body ?? '').includes(marker));
      if (existing) {
        const updated = await gh.pulls.update({ owner: coords.owner, repo: coords.repo, pull_number: existing.number, title: options.title, body });
        return { kind: 'github', number: updated.data.number, url: updated.data.html_url, updated: true, pushed, proposal_dir: null, branch, head, tree };
      }
    }
    const created = await gh.pulls.create({ owner: coords.owner, repo: coords.repo, title: options.title, head: branch, base, body });
    return { kind: 'github', number: created.data.number, url: created.data.html_url, updated: false, pushed, proposal_dir: null, branch, head, tree };
  } catch (error) {
    throw githubError(error, 'open the pull request', token);
  }
}

