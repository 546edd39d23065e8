import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Octokit } from '@octokit/rest';
import type { ConfigFile } from '../../config/schema.js';
import { verificationFor } from '../checks/attestation.js';
import { comparisonMarkdown, recordedComparison } from '../checks/gate.js';
import { UpstreamError, UserInputError } from '../errors.js';
import { defaultBranch, resolveBase } from '../git/branch.js';
import { gitDiff } from '../git/inspect.js';
import { GitRunner, runIsolatedGit } from '../git/runner.js';
import { redactSecrets } from '../text/secrets.js';
import { githubPushUrl, githubWebBase, parseGitHubRemote, webUrlProblem } from './remote.js';

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
  /** Why nothing was pushed (a local proposal), else null. */
  local_reason: string | null;
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
  // A session's selfscope gets the token in a file (github.tokenFile), its agent never gets it.
  if (config.tokenFile) return tryReadToken(config.tokenFile);
  return env['GITHUB_TOKEN'] || env['GH_TOKEN'] || null;
}

function tryReadToken(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim() || null;
  } catch {
    return null;
  }
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

/**
 * The GitHub repository: github.owner/github.repo, else the names in the remote's URL when
 * it is a repository on the configured GitHub host. Set owner and repo (`selfscope init`
 * does): the remote URL is repository configuration, which an agent may be able to edit.
 */
export async function repoCoordinates(git: GitRunner, config: ConfigFile): Promise<{ owner: string; repo: string } | null> {
  if (config.github.owner && config.github.repo) return { owner: config.github.owner, repo: config.github.repo };
  try {
    const url = (await git.run(['remote', 'get-url', '--end-of-options', config.git.remote])).trim();
    return parseGitHubRemote(url, githubWebBase(config.github.webUrl).host);
  } catch {
    return null;
  }
}

export type PushTarget = { owner: string; repo: string; url: string } | { owner?: undefined; reason: string };

/**
 * Where a pull request's branch may be pushed: `<github.webUrl>/<owner>/<repo>.git`, never
 * the remote's own URL (nor its pushurl, insteadOf rewrites or proxies). A remote that is a
 * local path or another host is never pushed to: the reason says why.
 */
export async function pushTarget(git: GitRunner, config: ConfigFile): Promise<PushTarget> {
  const web = githubWebBase(config.github.webUrl);
  const coords = await repoCoordinates(git, config);
  if (coords) return { ...coords, url: githubPushUrl(web, coords.owner, coords.repo) };
  let url: string | null = null;
  try {
    url = (await git.run(['remote', 'get-url', '--end-of-options', config.git.remote])).trim();
  } catch {
    url = null;
  }
  const remote = config.git.remote.slice(0, 40);
  if (!url) return { reason: `no GitHub repository is configured (github.owner, github.repo) and there is no remote "${remote}"` };
  const local = !/^(?:[A-Za-z][A-Za-z0-9+.-]*:\/\/|[^/:]+:)/.test(url) || /^file:/i.test(url);
  return {
    reason: `the remote "${remote}" is ${local ? 'a local path' : `not a GitHub repository on ${web.host}`}, and selfscope pushes only to the configured GitHub repository (github.owner, github.repo) over ${web.protocol.replace(':', '')}, never to another remote`,
  };
}

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/**
 * Pushes one commit to `refs/heads/<branch>` of a GitHub repository, from a git directory
 * selfscope writes for this push alone: its objects come from the repository through
 * `objects/info/alternates`, its configuration is selfscope's (no hooks, TLS verified, no
 * proxy, no redirect, no credential helper), and no repository, global or system
 * configuration is read. The token travels as an Authorization header for exactly `url`,
 * in that one git process's environment (never argv, a file or the URL), and is scrubbed
 * from every error. Never a force push.
 */
export async function pushToGitHub(options: { git: GitRunner; url: string; branch: string; sha: string; token: string; timeoutMs?: number }): Promise<void> {
  const { git, url, branch, sha, token } = options;
  const web = new URL(url);
  if (webUrlProblem(`${web.protocol}//${web.host}`) !== null) throw new UserInputError('selfscope pushes only over https (http only to a loopback host).', { hint: 'Check github.webUrl.' });
  if (!SHA.test(sha)) throw new UserInputError('The commit to push is not a full object id.', { hint: 'Commit first with git_commit.' });
  try {
    if (branch.startsWith('-')) throw new Error('option-like');
    await git.run(['check-ref-format', `refs/heads/${branch}`]);
  } catch {
    throw new UserInputError('The branch name cannot be pushed.', { hint: 'Use the branch git_branch_create made.' });
  }
  const objects = await fs.realpath((await git.run(['rev-parse', '--path-format=absolute', '--git-path', 'objects'])).trim());
  const shallow = (await git.run(['rev-parse', '--path-format=absolute', '--git-path', 'shallow'])).trim();
  const objectFormat = (await git.run(['rev-parse', '--show-object-format']).catch(() => 'sha1')).trim() || 'sha1';
  if (/[\n\r]/.test(objects) || !path.isAbsolute(objects) || !/^[a-z0-9]+$/.test(objectFormat)) throw new UserInputError('The repository path cannot be used for a push.', { hint: 'Move the repository to a path without newlines.' });

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-push-'));
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  try {
    await fs.chmod(dir, 0o700);
    for (const d of ['objects/info', 'objects/pack', 'refs/heads', 'refs/tags']) await fs.mkdir(path.join(dir, d), { recursive: true });
    await fs.writeFile(path.join(dir, 'HEAD'), 'ref: refs/heads/selfscope-push\n');
    await fs.writeFile(path.join(dir, 'objects', 'info', 'alternates'), `${objects}\n`);
    await fs.copyFile(shallow, path.join(dir, 'shallow')).catch(() => {});
    await fs.writeFile(path.join(dir, 'config'), pushConfig(objectFormat, web.protocol === 'http:'));
    await runIsolatedGit(['push', '--porcelain', '--no-verify', '--no-recurse-submodules', url, `${sha}:refs/heads/${branch}`], {
      gitDir: dir,
      secretConfig: [[`http.${url}.extraHeader`, `Authorization: Basic ${basic}`]],
      scrub: [token, basic],
      timeoutMs: options.timeoutMs ?? 120_000,
    });
  } catch (error) {
    if (error instanceof UserInputError) throw error;
    const said = `${(error as { stdout?: string }).stdout ?? ''}\n${String((error as Error).message ?? error)}`.trim();
    const clean = redactSecrets(said.split(token).join('[token]').split(basic).join('[token]'));
    throw new UpstreamError(`Pushing ${branch.slice(0, 100)} to GitHub failed.`, {
      hint: /non-fast-forward|fetch first|\[rejected\]/.test(clean)
        ? 'The branch on GitHub has other commits: selfscope never force-pushes. Pick a new branch name.'
        : /40[13]|Authentication|denied|could not read Username/i.test(clean)
          ? 'GitHub refused the token: GITHUB_TOKEN needs contents:write on this repository.'
          : 'Check github.owner/github.repo, github.webUrl and the network.',
      details: { url, git: clean.slice(0, 500) },
    });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** The push directory's whole configuration: selfscope's, nothing of the repository's. */
function pushConfig(objectFormat: string, loopbackHttp: boolean): string {
  return [
    '[core]',
    `\trepositoryformatversion = ${objectFormat === 'sha1' ? 0 : 1}`,
    '\tbare = true',
    '\thooksPath = /dev/null',
    '\tfsmonitor = false',
    '\taskPass =',
    ...(objectFormat === 'sha1' ? [] : ['[extensions]', `\tobjectFormat = ${objectFormat}`]),
    '[credential]',
    '\thelper =',
    '[http]',
    '\tsslVerify = true',
    '\tfollowRedirects = false',
    '\tproxy =',
    '\textraHeader =',
    '[protocol]',
    '\tallow = never',
    '[protocol "https"]',
    '\tallow = always',
    ...(loopbackHttp ? ['[protocol "http"]', '\tallow = always'] : []),
    '[push]',
    '\trecurseSubmodules = no',
    '\tgpgSign = false',
    '\tfollowTags = false',
    '[gc]',
    '\tauto = 0',
    '[maintenance]',
    '\tauto = false',
    '',
  ].join('\n');
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
  config: ConfigFile & { stateDirPath: string; privateDirPath: string };
  title: string;
  evidence: Evidence;
  base?: string;
  env?: NodeJS.ProcessEnv;
}

export async function createPullRequest(options: CreatePullRequestOptions): Promise<PullRequestResult> {
  const { config, worktree } = options;
  if (!options.title.trim() || options.title.length > 250) throw new UserInputError('The title must be 1 to 250 characters.', { hint: 'Say what the fix does, like a commit subject.' });
  // The id goes into an HTML comment the merge path reads back: nothing that could close it.
  const anomalyId = options.evidence.anomaly_id;
  if (anomalyId !== undefined && !/^[\w.:-]{1,100}$/.test(anomalyId)) throw new UserInputError('anomaly_id is not an anomaly id.', { hint: 'Pass the id detect_anomalies returned (letters, digits, _ . : -), or leave it out.' });
  const git = new GitRunner(worktree);
  const branch = (await git.run(['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => '')).trim();
  if (!branch) throw new UserInputError('The worktree is not on a branch.', { hint: 'Use the worktree git_branch_create returned.' });
  const head = (await git.run(['rev-parse', '--verify', 'HEAD^{commit}']).catch(() => '')).trim();
  if (!head) throw new UserInputError('The worktree\'s branch has no commit yet.', { hint: 'Commit the change with git_commit first.' });
  const tree = (await git.run(['rev-parse', 'HEAD^{tree}'])).trim();
  const verification = await verificationFor(config.privateDirPath, tree);
  // The repository's own default branch (configured, else the remote's HEAD, else the main checkout's), never a guess.
  const base = options.base ?? (await defaultBranch(git, config.git.defaultBranch, config.git.remote));
  const baseRef = await resolveBase(git, base, config.git.remote);
  if (!baseRef) throw new UserInputError(`The base "${base.slice(0, 80)}" is not a branch here (nor ${config.git.remote.slice(0, 40)}/${base.slice(0, 80)}).`, { hint: 'Omit base to use the default branch, set git.defaultBranch, or name an existing branch.' });
  const ahead = Number((await git.run(['rev-list', '--count', '--end-of-options', `${baseRef.ref}..HEAD`])).trim());
  if (!(ahead > 0)) throw new UserInputError(`${branch.slice(0, 100)} has no commit that ${base.slice(0, 80)} does not have: there is nothing to propose.`, { hint: 'Commit the change with git_commit first (or pass the base the branch was made from).' });
  const stat = await gitDiff(worktree, { mode: 'range', base: baseRef.ref, head: 'HEAD', statOnly: true, perPage: 100 }).catch(() => null);
  const diffStat = stat ? [...stat.files.map((f) => `${f.path} | +${f.added ?? '?'} -${f.deleted ?? '?'}`), `${stat.stat.files} files, +${stat.stat.added} -${stat.stat.deleted}`].join('\n') : '(unavailable)';
  // The committed tree's full run against its base's, test by test, when both are recorded.
  const comparison = await recordedComparison(config.privateDirPath, worktree, tree, config.git, verification.test).catch(() => null);
  const noNewFailures = !verification.verified && comparison !== null && comparison.new_failures.length === 0 && verification.typecheck !== null && verification.reasons.typecheck === undefined;
  const runLines = () => [`- typecheck: \`${verification.typecheck!.command.join(' ')}\` (run ${verification.typecheck!.id})`, `- tests: \`${verification.test!.command.join(' ')}\` (run ${verification.test!.id})${verification.test!.counts ? `: ${verification.test!.counts.passed} passed, ${verification.test!.counts.failed} failed, ${verification.test!.counts.skipped} skipped` : ''}`];
  const verificationText = [
    verification.verified
      ? [`Typecheck and tests passed on tree \`${tree}\` (the committed tree):`, ...runLines()].join('\n')
      : noNewFailures
        ? [`Typecheck passed on tree \`${tree}\` (the committed tree), and no test fails there that passed on the base (checks.gate "no_new_failures"):`, ...runLines()].join('\n')
        : `Not verified on tree \`${tree}\` (missing: ${verification.missing.join(', ')}).`,
    ...(comparison ? ['', redactSecrets(comparisonMarkdown(comparison))] : []),
  ].join('\n');
  const body = pullRequestBody({ evidence: options.evidence, verification: verificationText, diffStat, branch });

  // The title leaves selfscope like the body: secrets redacted, on one line.
  const title = redactSecrets(options.title).replace(/[\u0000-\u001f\u007f]+/g, ' ').trim() || 'selfscope change';
  const token = githubToken(config.github, options.env);
  const target = await pushTarget(git, config);
  const reason = !token ? 'no GitHub token is set for selfscope (GITHUB_TOKEN)' : target.owner === undefined ? target.reason : null;
  if (reason !== null || target.owner === undefined || !token) {
    // Nothing is pushed anywhere: not to a local or foreign remote, not without a token.
    const dir = path.join(config.stateDirPath, 'proposals', branch.replace(/[^A-Za-z0-9._-]+/g, '-'));
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    // The commits over the base, as `git am` applies them on it (binary files included).
    const patch = await git.run(['format-patch', '--stdout', '--binary', '--no-color', '--no-ext-diff', '--no-textconv', '--no-signature', '--end-of-options', `${baseRef.ref}..HEAD`]);
    await fs.writeFile(path.join(dir, 'change.patch'), patch);
    await fs.writeFile(path.join(dir, 'PROPOSAL.md'), `# ${title}\n\nBranch: \`${branch}\` at \`${head}\` (not pushed), ${ahead} commit(s) over \`${base}\`.\n\nWhy a local proposal: ${reason ?? 'no GitHub repository is configured'}.\n\n${body}\n\nApply on \`${base}\` with: \`git checkout ${base} && git am ${path.join(dir, 'change.patch')}\`\n`);
    return { kind: 'local_proposal', number: null, url: null, updated: false, pushed: false, proposal_dir: dir, branch, head, tree, local_reason: reason ?? 'no GitHub repository is configured' };
  }
  await pushToGitHub({ git, url: target.url, branch, sha: head, token });
  const pushed = true;
  const coords = { owner: target.owner, repo: target.repo };

  const gh = await octokit(config.github, token);
  try {
    const marker = options.evidence.anomaly_id ? `<!-- selfscope:anomaly=${options.evidence.anomaly_id} -->` : null;
    if (marker) {
      const open = await gh.pulls.list({ owner: coords.owner, repo: coords.repo, state: 'open', per_page: 100 });
      const existing = open.data.find((pr) => (pr.body ?? '').includes(marker));
      if (existing) {
        const updated = await gh.pulls.update({ owner: coords.owner, repo: coords.repo, pull_number: existing.number, title, body });
        return { kind: 'github', number: updated.data.number, url: updated.data.html_url, updated: true, pushed, proposal_dir: null, branch, head, tree, local_reason: null };
      }
    }
    const created = await gh.pulls.create({ owner: coords.owner, repo: coords.repo, title, head: branch, base, body });
    return { kind: 'github', number: created.data.number, url: created.data.html_url, updated: false, pushed, proposal_dir: null, branch, head, tree, local_reason: null };
  } catch (error) {
    throw githubError(error, 'open the pull request', token);
  }
}

