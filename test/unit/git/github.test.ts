import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configFileSchema } from '../../../src/config/schema.js';
import { recordVerificationRun, treeIdentity } from '../../../src/core/checks/attestation.js';
import { UpstreamError } from '../../../src/core/errors.js';
import { createBranchWorktree } from '../../../src/core/git/branch.js';
import { commitVerified } from '../../../src/core/git/commit.js';
import { mergePullRequest } from '../../../src/core/github/merge.js';
import { createPullRequest } from '../../../src/core/github/pull-request.js';
import { createTempRepo, git, type TempRepo } from '../../helpers/temp-repo.js';

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

async function verify(worktree: string, stateDirPath: string): Promise<string> {
  const tree = await treeIdentity(worktree);
  const now = new Date().toISOString();
  for (const check of ['typecheck', 'test'] as const) {
    await recordVerificationRun(stateDirPath, { id: `run-${check}-${tree.slice(0, 8)}`, tree, worktree, check, command: ['npm', 'run', check], reason: 'test', ok: true, exit_code: 0, counts: check === 'test' ? { passed: 4, failed: 0, skipped: 0, total: 4 } : null, tree_changed: false, started_at: now, finished_at: now, duration_ms: 5 });
  }
  return tree;
}

/** A repository with a local bare remote (pushes are real) and a verified commit on a branch. */
async function committedBranch(options: { github?: boolean } = {}) {
  const repo: TempRepo = await createTempRepo({ files: { '.gitignore': '.selfscope/\n', 'src/queue.ts': 'export const q = 1;\n' } });
  const bare = await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-remote-'));
  cleanups.push(repo.cleanup, () => fs.rm(bare, { recursive: true, force: true }));
  await git(bare, ['init', '-q', '--bare', '-b', 'main']);
  await git(repo.dir, ['remote', 'add', 'origin', bare]);
  await git(repo.dir, ['push', '-q', 'origin', 'main']);
  const stateDirPath = path.join(repo.dir, '.selfscope');
  const config = { ...configFileSchema.parse({ github: { apiUrl: API, approvers: ['alice'], allowedUserIds: ['1180000000000000003'], ...(options.github ? { owner: 'volpe', repo: 'clanky' } : {}) } }), stateDirPath };
  const b = await createBranchWorktree({ repo: repo.dir, stateDirPath, name: 'fix-queue', prefix: 'selfscope/', remote: 'origin' });
  await fs.writeFile(path.join(b.worktree, 'src', 'queue.ts'), 'export const q = 2;\n');
  const tree = await verify(b.worktree, stateDirPath);
  const commit = await commitVerified({ worktree: b.worktree, stateDirPath, git: config.git, message: 'Fix the queue' });
  return { repo, bare, config, worktree: b.worktree, branch: b.branch, tree, sha: commit.sha };
}

describe('git_pr_create', () => {
  it('without a token: pushes for real and writes a local proposal with the evidence', async () => {
    const c = await committedBranch();
    const r = await createPullRequest({ worktree: c.worktree, config: c.config, title: 'Fix queue state on skip', evidence: { anomaly_id: 'an-123', summary: 'Skips during load dropped the queue.', figures: '45% errors' }, env: {} });
    expect(r).toMatchObject({ kind: 'local_proposal', pushed: true, branch: c.branch, head: c.sha });
    expect((await git(c.bare, ['rev-parse', c.branch])).trim()).toBe(c.sha);
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
  function prHandlers(c: { sha: string }, reviews: Array<{ login: string; state: string }>, checks: Array<{ name: string; status: string; conclusion: string | null }>, merged: { called: boolean }) {
    return [
      http.get(`${API}/repos/volpe/clanky/pulls/48`, () =>
        HttpResponse.json({ number: 48, state: 'open', merged: false, title: 'Fix queue', html_url: 'https://github.com/volpe/clanky/pull/48', head: { sha: c.sha, ref: 'selfscope/fix-queue' }, base: { ref: 'main' }, changed_files: 1, additions: 1, deletions: 1 }),
      ),
      http.get(`${API}/repos/volpe/clanky/commits/${c.sha}/check-runs`, () => HttpResponse.json({ total_count: checks.length, check_runs: checks })),
      http.get(`${API}/repos/volpe/clanky/commits/${c.sha}/status`, () => HttpResponse.json({ state: 'success', total_count: 0, statuses: [] })),
      http.get(`${API}/repos/volpe/clanky/pulls/48/reviews`, () => HttpResponse.json(reviews.map((r, i) => ({ id: i, user: { login: r.login }, state: r.state, commit_id: c.sha })))),
      http.put(`${API}/repos/volpe/clanky/pulls/48/merge`, () => {
        merged.called = true;
        return HttpResponse.json({ sha: 'f'.repeat(40), merged: true });
      }),
    ];
  }

  it('returns approval_required without a human approval, and merges after an approver reviews', async () => {
    const c = await committedBranch({ github: true });
    const merged = { called: false };
    server.use(...prHandlers(c, [{ login: 'mallory', state: 'APPROVED' }], [{ name: 'ci', status: 'completed', conclusion: 'success' }], merged));
    const refused = await mergePullRequest({ repo: c.repo.dir, config: c.config, number: 48, env: { GITHUB_TOKEN: TOKEN } });
    expect(refused).toMatchObject({ merged: false, status: 'approval_required' });
    expect(merged.called).toBe(false);
    server.use(...prHandlers(c, [{ login: 'alice', state: 'APPROVED' }], [{ name: 'ci', status: 'completed', conclusion: 'success' }], merged));
    const ok = await mergePullRequest({ repo: c.repo.dir, config: c.config, number: 48, env: { GITHUB_TOKEN: TOKEN } });
    expect(ok).toMatchObject({ merged: true, number: 48 });
    expect(merged.called).toBe(true);
  });

  it('refuses red or pending checks, and an unverified head', async () => {
    const c = await committedBranch({ github: true });
    const merged = { called: false };
    server.use(...prHandlers(c, [{ login: 'alice', state: 'APPROVED' }], [{ name: 'ci', status: 'completed', conclusion: 'failure' }], merged));
    expect(await mergePullRequest({ repo: c.repo.dir, config: c.config, number: 48, env: { GITHUB_TOKEN: TOKEN } })).toMatchObject({ merged: false, status: 'checks_failed' });
    server.use(...prHandlers(c, [{ login: 'alice', state: 'APPROVED' }], [{ name: 'ci', status: 'in_progress', conclusion: null }], merged));
    expect(await mergePullRequest({ repo: c.repo.dir, config: c.config, number: 48, env: { GITHUB_TOKEN: TOKEN } })).toMatchObject({ merged: false, status: 'checks_pending' });
    const unverified = { ...c, sha: '0'.repeat(40) };
    server.use(...prHandlers(unverified, [{ login: 'alice', state: 'APPROVED' }], [], merged));
    expect(await mergePullRequest({ repo: c.repo.dir, config: c.config, number: 48, env: { GITHUB_TOKEN: TOKEN } })).toMatchObject({ merged: false, status: 'not_verified' });
    expect(merged.called).toBe(false);
  });

  it('merges for an allowed user through the trusted path, refuses anyone else', async () => {
    const c = await committedBranch({ github: true });
    const merged = { called: false };
    server.use(...prHandlers(c, [], [], merged));
    await expect(mergePullRequest({ repo: c.repo.dir, config: c.config, number: 48, approvedByUserId: '999', env: { GITHUB_TOKEN: TOKEN } })).rejects.toThrow(/not allowed to approve/);
    expect(merged.called).toBe(false);
    const ok = await mergePullRequest({ repo: c.repo.dir, config: c.config, number: 48, approvedByUserId: '1180000000000000003', env: { GITHUB_TOKEN: TOKEN } });
    expect(ok.merged).toBe(true);
  });

  it('asks the human through the client when it can, and takes a no for a no', async () => {
    const c = await committedBranch({ github: true });
    const merged = { called: false };
    server.use(...prHandlers(c, [], [], merged));
    const no = await mergePullRequest({ repo: c.repo.dir, config: c.config, number: 48, askHuman: async () => null, env: { GITHUB_TOKEN: TOKEN } });
    expect(no).toMatchObject({ merged: false, status: 'approval_required' });
    const yes = await mergePullRequest({ repo: c.repo.dir, config: c.config, number: 48, askHuman: async () => ({ approvedBy: 'bob' }), env: { GITHUB_TOKEN: TOKEN } });
    expect(yes.merged).toBe(true);
  });
});
