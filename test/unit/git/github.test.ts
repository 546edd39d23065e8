import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configFileSchema } from '../../../src/config/schema.js';
import { UpstreamError } from '../../../src/core/errors.js';
import { createBranchWorktree } from '../../../src/core/git/branch.js';
import { commitVerified } from '../../../src/core/git/commit.js';
import { mergePullRequest } from '../../../src/core/github/merge.js';
import { createPullRequest } from '../../../src/core/github/pull-request.js';
import { createTempRepo, git, type TempRepo } from '../../helpers/temp-repo.js';
import { startGitHttpServer } from './_git-servers.js';
import { recordPassingChecks } from '../../helpers/verification.js';

const API = 'https://api.github.test';
const TOKEN = 'ghp_testtokentesttokentesttokentesttoken12';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});


/**
 * A repository with a local bare remote and a verified commit on a branch. With `github`,
 * owner/repo are configured and github.webUrl is a local smart-HTTP git server, so pushes
 * are real and never leave the machine.
 */
async function committedBranch(options: { github?: boolean } = {}) {
  const repo: TempRepo = await createTempRepo({ files: { '.gitignore': '.selfscope/\n', 'src/queue.ts': 'export const q = 1;\n' } });
  const bare = await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-remote-'));
  cleanups.push(repo.cleanup, () => fs.rm(bare, { recursive: true, force: true }));
  await git(bare, ['init', '-q', '--bare', '-b', 'main']);
  await git(repo.dir, ['remote', 'add', 'origin', bare]);
  await git(repo.dir, ['push', '-q', 'origin', 'main']);
  const stateDirPath = path.join(repo.dir, '.selfscope');
  const privateDirPath = repo.privateDir;
  let webUrl: string | undefined;
  if (options.github) {
    const gitServer = await startGitHttpServer();
    cleanups.push(() => gitServer.close());
    await gitServer.createRepository('volpe', 'clanky');
    webUrl = gitServer.base;
  }
  const config = { ...configFileSchema.parse({ github: { apiUrl: API, approvers: ['alice'], allowedUserIds: ['1180000000000000003'], ...(options.github ? { owner: 'volpe', repo: 'clanky', webUrl } : {}) } }), stateDirPath, privateDirPath };
  const b = await createBranchWorktree({ repo: repo.dir, stateDirPath, name: 'fix-queue', prefix: 'selfscope/', remote: 'origin' });
  await fs.writeFile(path.join(b.worktree, 'src', 'queue.ts'), 'export const q = 2;\n');
  const tree = await recordPassingChecks(b.worktree, privateDirPath);
  const commit = await commitVerified({ worktree: b.worktree, privateDirPath, git: config.git, message: 'Fix the queue' });
  return { repo, bare, config, worktree: b.worktree, branch: b.branch, tree, sha: commit.sha };
}

describe('git_pr_create', () => {
  it('without a token: pushes nothing and writes a local proposal with the evidence', async () => {
    const c = await committedBranch();
    const r = await createPullRequest({ worktree: c.worktree, config: c.config, title: 'Fix queue state on skip', evidence: { anomaly_id: 'an-123', summary: 'Skips during load dropped the queue.', figures: '45% errors' }, env: {} });
    expect(r).toMatchObject({ kind: 'local_proposal', pushed: false, branch: c.branch, head: c.sha });
    await expect(git(c.bare, ['rev-parse', '--verify', '--quiet', `refs/heads/${c.branch}`])).rejects.toThrow();
    const md = await fs.readFile(path.join(r.proposal_dir!, 'PROPOSAL.md'), 'utf8');
    expect(md).toContain('an-123');
    expect(md).toContain(`Typecheck and tests passed on tree \`${c.tree}\``);
    expect(md).toMatch(/Merging needs a human/);
    expect(await fs.readFile(path.join(r.proposal_dir!, 'change.patch'), 'utf8')).toContain('export const q = 2;');
  });

  it('with a token: opens one PR per anomaly, and a second call updates it', async () => {
    const c = await committedBranch({ github: true });
    const prs: Array<{ number: number; body: string; title: string }> = [];
    const seenAuth: string[] = [];
    server.use(
      http.get(`${API}/repos/volpe/clanky/pulls`, ({ request }) => {
        seenAuth.push(request.headers.get('authorization') ?? '');
        return HttpResponse.json(prs.map((p) => ({ ...p, html_url: `https://github.com/volpe/clanky/pull/${p.number}` })));
      }),
      http.post(`${API}/repos/volpe/clanky/pulls`, async ({ request }) => {
        const body = (await request.json()) as { title: string; body: string; head: string; base: string };
        expect(body.head).toBe(c.branch);
        const pr = { number: 48, body: body.body, title: body.title };
        prs.push(pr);
        return HttpResponse.json({ ...pr, html_url: 'https://github.com/volpe/clanky/pull/48' }, { status: 201 });
      }),
      http.patch(`${API}/repos/volpe/clanky/pulls/48`, async ({ request }) => {
        const body = (await request.json()) as { title: string; body: string };
        prs[0]!.title = body.title;
        return HttpResponse.json({ number: 48, html_url: 'https://github.com/volpe/clanky/pull/48' });
      }),
    );
    const first = await createPullRequest({ worktree: c.worktree, config: c.config, title: 'Fix queue', evidence: { anomaly_id: 'an-9' }, env: { GITHUB_TOKEN: TOKEN } });
    expect(first).toMatchObject({ kind: 'github', number: 48, updated: false, url: 'https://github.com/volpe/clanky/pull/48' });
    expect(prs[0]!.body).toContain('<!-- selfscope:anomaly=an-9 -->');
    const second = await createPullRequest({ worktree: c.worktree, config: c.config, title: 'Fix queue (v2)', evidence: { anomaly_id: 'an-9' }, env: { GITHUB_TOKEN: TOKEN } });
    expect(second).toMatchObject({ number: 48, updated: true });
    expect(prs).toHaveLength(1);
    expect(prs[0]!.title).toBe('Fix queue (v2)');
    expect(seenAuth[0]).toBe(`token ${TOKEN}`);
  });

  it.each([
    [401, {}, /refused the token \(401\)/],
    [403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1900000000' }, /rate limit/],
    [403, {}, /forbade it \(403\)/],
    [422, {}, /rejected the request \(422\)/],
  ])('turns a %i into a clean message without the token', async (status, headers, message) => {
    const c = await committedBranch({ github: true });
    server.use(
      http.get(`${API}/repos/volpe/clanky/pulls`, () => HttpResponse.json([])),
      http.post(`${API}/repos/volpe/clanky/pulls`, () => HttpResponse.json({ message: `Bad credentials ${TOKEN}` }, { status, headers })),
    );
    const error = (await createPullRequest({ worktree: c.worktree, config: c.config, title: 't', evidence: { anomaly_id: 'x' }, env: { GITHUB_TOKEN: TOKEN } }).catch((e: unknown) => e)) as UpstreamError;
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.message).toMatch(message);
    expect(JSON.stringify({ m: error.message, h: error.hint, d: error.details })).not.toContain(TOKEN);
  });
});

describe('git_pr_merge', () => {
  type Review = { login: string; state: string; commit: string; type?: string };
  /** GitHub as the merge gate reads it; `calls.merged` counts merge requests that reached it. */
  function prHandlers(c: { sha: string }, reviews: Review[], checks: Array<{ name: string; status: string; conclusion: string | null }>, calls: { merged: number }, self = 'selfscope-bot') {
    return [
      http.get(`${API}/user`, () => HttpResponse.json({ login: self, type: 'User' })),
      http.get(`${API}/repos/volpe/clanky/pulls/48`, () =>
        HttpResponse.json({ number: 48, state: 'open', merged: false, title: 'Fix queue', html_url: 'https://github.com/volpe/clanky/pull/48', head: { sha: c.sha, ref: 'selfscope/fix-queue' }, base: { ref: 'main' }, changed_files: 1, additions: 1, deletions: 1 }),
      ),
      http.get(`${API}/repos/volpe/clanky/commits/${c.sha}/check-runs`, () => HttpResponse.json({ total_count: checks.length, check_runs: checks })),
      http.get(`${API}/repos/volpe/clanky/commits/${c.sha}/status`, () => HttpResponse.json({ state: 'success', total_count: 0, statuses: [] })),
      http.get(`${API}/repos/volpe/clanky/pulls/48/reviews`, () =>
        HttpResponse.json(reviews.map((r, i) => ({ id: 100 + i, user: { login: r.login, type: r.type ?? 'User' }, state: r.state, commit_id: r.commit, submitted_at: new Date(Date.UTC(2030, 0, 1, 0, i)).toISOString() }))),
      ),
      http.put(`${API}/repos/volpe/clanky/pulls/48/merge`, async ({ request }) => {
        calls.merged++;
        expect(((await request.json()) as { sha: string }).sha).toBe(c.sha);
        return HttpResponse.json({ sha: 'f'.repeat(40), merged: true });
      }),
    ];
  }
  const green = [{ name: 'ci', status: 'completed', conclusion: 'success' }];
  const merge = (c: Awaited<ReturnType<typeof committedBranch>>, extra: { approvedByUserId?: string } = {}) => mergePullRequest({ repo: c.repo.dir, config: c.config, number: 48, env: { GITHUB_TOKEN: TOKEN }, ...extra });

  it('returns approval_required without a human approval, and merges after an approver reviews the head', async () => {
    const c = await committedBranch({ github: true });
    const calls = { merged: 0 };
    server.use(...prHandlers(c, [{ login: 'mallory', state: 'APPROVED', commit: c.sha }], green, calls));
    const refused = await merge(c);
    expect(refused).toMatchObject({ merged: false, status: 'approval_required' });
    expect(refused.merged === false && refused.what_to_do).toMatch(/selfscope approve --pr 48/);
    expect(refused.merged === false && refused.details['notes']).toEqual(['mallory approved, but is not in github.approvers']);
    expect(calls.merged).toBe(0);
    server.use(...prHandlers(c, [{ login: 'Alice', state: 'APPROVED', commit: c.sha }], green, calls));
    const ok = await merge(c);
    expect(ok).toMatchObject({ merged: true, number: 48, approved_via: 'github_review', approved_by: 'alice' });
    expect(calls.merged).toBe(1);
  });

  it('refuses red or pending checks, and an unverified head', async () => {
    const c = await committedBranch({ github: true });
    const calls = { merged: 0 };
    const approved = [{ login: 'alice', state: 'APPROVED', commit: c.sha }];
    server.use(...prHandlers(c, approved, [{ name: 'ci', status: 'completed', conclusion: 'failure' }], calls));
    expect(await merge(c)).toMatchObject({ merged: false, status: 'checks_failed' });
    server.use(...prHandlers(c, approved, [{ name: 'ci', status: 'in_progress', conclusion: null }], calls));
    expect(await merge(c)).toMatchObject({ merged: false, status: 'checks_pending' });
    const unverified = { ...c, sha: '0'.repeat(40) };
    server.use(...prHandlers(unverified, [{ login: 'alice', state: 'APPROVED', commit: unverified.sha }], [], calls));
    expect(await merge(c)).toMatchObject({ merged: false, status: 'not_verified' });
    expect(calls.merged).toBe(0);
  });

  it("counts a review only at the current head, by an approver, not by the token's own account or a bot", async () => {
    const c = await committedBranch({ github: true });
    const calls = { merged: 0 };
    const old = 'a'.repeat(40);
    const refusedWith = async (reviews: Review[], self?: string) => {
      server.use(...prHandlers(c, reviews, green, calls, self));
      const r = await merge(c);
      expect(r).toMatchObject({ merged: false, status: 'approval_required' });
      return r.merged === false ? r.details['notes'] : null;
    };
    expect(await refusedWith([{ login: 'alice', state: 'APPROVED', commit: old }])).toEqual([`alice approved an older head (${old.slice(0, 12)})`]);
    // The token's own account is an approver here, and its review still does not count.
    expect(await refusedWith([{ login: 'alice', state: 'APPROVED', commit: c.sha }], 'ALICE')).toEqual(["alice approved, but that is the token's own account"]);
    expect(await refusedWith([{ login: 'alice', state: 'APPROVED', commit: c.sha, type: 'Bot' }])).toEqual([]);
    // A later "changes requested" or a dismissal undoes an approval; a comment does not.
    await refusedWith([
      { login: 'alice', state: 'APPROVED', commit: c.sha },
      { login: 'alice', state: 'CHANGES_REQUESTED', commit: c.sha },
    ]);
    await refusedWith([{ login: 'alice', state: 'DISMISSED', commit: c.sha }]);
    expect(calls.merged).toBe(0);
    server.use(...prHandlers(c, [{ login: 'alice', state: 'APPROVED', commit: c.sha }, { login: 'alice', state: 'COMMENTED', commit: c.sha }], green, calls));
    expect(await merge(c)).toMatchObject({ merged: true, approved_via: 'github_review' });
    expect(calls.merged).toBe(1);
  });

  it('reads reviews from GitHub at every merge: the same review approves nothing once the head moves or it is dismissed', async () => {
    const c = await committedBranch({ github: true });
    const calls = { merged: 0 };
    const review = { login: 'alice', state: 'APPROVED', commit: c.sha };
    server.use(...prHandlers(c, [review], green, calls));
    expect(await merge(c)).toMatchObject({ merged: true, approved_by: 'alice' });
    // Dismissed on GitHub: the approval seen a moment ago was never stored.
    server.use(...prHandlers(c, [{ ...review, state: 'DISMISSED' }], green, calls));
    expect(await merge(c)).toMatchObject({ merged: false, status: 'approval_required' });
    // A new verified head: alice's review is of the old one.
    await fs.writeFile(path.join(c.worktree, 'src', 'queue.ts'), 'export const q = 3;\n');
    await recordPassingChecks(c.worktree, c.config.privateDirPath);
    const next = await commitVerified({ worktree: c.worktree, privateDirPath: c.config.privateDirPath, git: c.config.git, message: 'Fix the queue again' });
    server.use(...prHandlers({ sha: next.sha }, [review], green, calls));
    expect(await merge(c)).toMatchObject({ merged: false, status: 'approval_required' });
    expect(calls.merged).toBe(1);
  });

  it('merges for an allowed user through the bot\'s API, refuses anyone else', async () => {
    const c = await committedBranch({ github: true });
    const calls = { merged: 0 };
    server.use(...prHandlers(c, [], [], calls));
    await expect(merge(c, { approvedByUserId: '999' })).rejects.toThrow(/not allowed to approve/);
    expect(calls.merged).toBe(0);
    const ok = await merge(c, { approvedByUserId: '1180000000000000003' });
    expect(ok).toMatchObject({ merged: true, approved_via: 'bot', approved_by: '1180000000000000003' });
    expect(calls.merged).toBe(1);
  });
});
