import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configFileSchema } from '../../../src/config/schema.js';
import { UpstreamError } from '../../../src/core/errors.js';
import { createBranchWorktree } from '../../../src/core/git/branch.js';
import { commitVerified } from '../../../src/core/git/commit.js';
import { GitRunner } from '../../../src/core/git/runner.js';
import { createPullRequest, pushTarget } from '../../../src/core/github/pull-request.js';
import { githubPushUrl, githubWebBase, parseGitHubRemote } from '../../../src/core/github/remote.js';
import { createTempRepo, git, GIT_TEST_ENV, type TempRepo } from '../../helpers/temp-repo.js';
import { startGitHttpServer, startTrap, type GitHttpServer, type Trap } from './_git-servers.js';
import { recordPassingChecks } from '../../helpers/verification.js';

/**
 * Git egress: a branch goes only to the configured GitHub repository, from a git
 * configuration selfscope writes, with the token only in that push's Authorization header.
 * The repository's own configuration (proxies, resolve overrides, URL rewrites, pushurl,
 * helpers, hooks) is planted as an agent would, and must steer nothing.
 */

const API = 'https://api.github.test';
const TOKEN = 'ghp_egresstokenegresstokenegresstoken1234';
const BASIC = `Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`;

const api = setupServer();
beforeAll(() => api.listen({ onUnhandledRequest: 'error' }));
afterEach(() => api.resetHandlers());
afterAll(() => api.close());

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), prefix)));
  cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/** A repository whose `origin` is a local bare repository with hooks that record their run and environment. */
async function committedBranch(options: { github?: { webUrl: string } | null; title?: string } = {}) {
  const repo: TempRepo = await createTempRepo({ files: { '.gitignore': '.selfscope/\n', 'src/queue.ts': 'export const q = 1;\n' } });
  cleanups.push(repo.cleanup);
  const scratch = await tempDir('selfscope-egress-');
  const bare = path.join(scratch, 'origin.git');
  await git(scratch, ['init', '-q', '--bare', '-b', 'main', bare]);
  const hookRan = path.join(scratch, 'origin-hook-ran');
  for (const hook of ['pre-receive', 'update', 'post-receive', 'post-update', 'proc-receive']) {
    await fs.writeFile(path.join(bare, 'hooks', hook), `#!/bin/sh\nenv >> '${hookRan}'\nexit 0\n`, { mode: 0o755 });
  }
  await git(repo.dir, ['remote', 'add', 'origin', bare]);
  await git(repo.dir, ['push', '-q', 'origin', 'main']);
  await fs.rm(hookRan, { force: true }); // the set-up push ran them: only selfscope's calls count
  const stateDirPath = path.join(repo.dir, '.selfscope');
  const privateDirPath = repo.privateDir;
  const github = options.github ? { owner: 'volpe', repo: 'clanky', webUrl: options.github.webUrl } : {};
  const config = { ...configFileSchema.parse({ github: { apiUrl: API, ...github } }), stateDirPath, privateDirPath };
  const b = await createBranchWorktree({ repo: repo.dir, stateDirPath, name: 'fix-queue', prefix: 'selfscope/', remote: 'origin' });
  await fs.writeFile(path.join(b.worktree, 'src', 'queue.ts'), 'export const q = 2;\n');
  await recordPassingChecks(b.worktree, privateDirPath);
  const commit = await commitVerified({ worktree: b.worktree, privateDirPath, git: config.git, message: 'Fix the queue' } as Parameters<typeof commitVerified>[0]);
  return { repo, bare, hookRan, scratch, config, worktree: b.worktree, branch: b.branch, sha: commit.sha };
}

/** Plants, in the repository's own configuration, every way git could be steered elsewhere. */
async function plantHostileEgressConfig(repoDir: string, scratch: string, good: GitHttpServer, trap: Trap) {
  const marker = path.join(scratch, 'planted-program-ran');
  const program = path.join(scratch, 'planted.sh');
  await fs.writeFile(program, `#!/bin/sh\necho "$0 $*" >> '${marker}'\nenv >> '${marker}'\ncat >/dev/null 2>&1\nexit 0\n`, { mode: 0o755 });
  const hooks = path.join(scratch, 'planted-hooks');
  await fs.mkdir(hooks);
  for (const hook of ['pre-push', 'reference-transaction', 'post-checkout', 'pre-commit']) {
    await fs.writeFile(path.join(hooks, hook), `#!/bin/sh\n'${program}' hook\n`, { mode: 0o755 });
    await fs.writeFile(path.join(repoDir, '.git', 'hooks', hook), `#!/bin/sh\n'${program}' hook\n`, { mode: 0o755 });
  }
  const trapUrl = `http://127.0.0.1:${trap.port}`;
  const included = path.join(scratch, 'included.gitconfig');
  await fs.writeFile(included, `[http]\n\tproxy = ${trapUrl}\n[remote "origin"]\n\tpushurl = ${trapUrl}/included.git\n[credential]\n\thelper = !'${program}'\n`);
  const settings: Array<[string, string]> = [
    ['http.proxy', trapUrl],
    [`http.${good.base}/.proxy`, trapUrl],
    ['http.sslVerify', 'false'],
    ['http.curloptResolve', `localhost:${good.port}:127.0.0.2`],
    [`url.${trapUrl}/.insteadOf`, `${good.base}/`],
    [`url.${trapUrl}/.pushInsteadOf`, `${good.base}/`],
    ['remote.origin.pushurl', `${trapUrl}/pushurl.git`],
    ['remote.origin.receivepack', program],
    ['http.extraHeader', 'X-Planted: yes'],
    [`http.${good.base}/.extraHeader`, 'X-Planted-Url: yes'],
    ['credential.helper', `!'${program}'`],
    [`credential.${good.base}.helper`, `!'${program}'`],
    ['core.askPass', program],
    ['core.sshCommand', program],
    ['core.gitProxy', program],
    ['core.hooksPath', hooks],
    ['core.fsmonitor', program],
    ['core.alternateRefsCommand', program],
    ['push.recurseSubmodules', 'on-demand'],
    ['protocol.file.allow', 'always'],
    ['protocol.http.allow', 'always'],
    ['include.path', included],
  ];
  for (const [key, value] of settings) await git(repoDir, ['config', '--add', key, value]);
  return { marker };
}

describe('git egress goes only to the configured GitHub repository', () => {
  it('pushes to the GitHub URL with the token in its Authorization header only, whatever the repository configures', async () => {
    const good = await startGitHttpServer({ hostname: 'localhost', expectAuthorization: BASIC });
    cleanups.push(() => good.close());
    const served = await good.createRepository('volpe', 'clanky');
    const trap = await startTrap();
    cleanups.push(() => trap.close());
    // Where `http.curloptResolve` would send localhost:<port>: the same port on 127.0.0.2.
    // (Where 127.0.0.2 cannot be bound, that one redirection goes unobserved; the others still are.)
    const resolveTrap = await startTrap('127.0.0.2', good.port).catch(() => ({ host: '127.0.0.2', port: good.port, connections: 0, close: async () => {} }));
    cleanups.push(() => resolveTrap.close());

    const c = await committedBranch({ github: { webUrl: good.base } });
    const { marker } = await plantHostileEgressConfig(c.repo.dir, c.scratch, good, trap);

    // Control: the planted configuration does steer git itself (pushInsteadOf -> the trap).
    const control = await execa('git', ['push', `${good.base}/volpe/clanky.git`, `${c.sha}:refs/heads/control`], { cwd: c.worktree, env: { ...GIT_TEST_ENV, GIT_TERMINAL_PROMPT: '0' }, reject: false, timeout: 30_000 });
    expect(control.exitCode).not.toBe(0);
    expect(trap.connections + resolveTrap.connections).toBeGreaterThan(0);
    trap.connections = 0;
    resolveTrap.connections = 0;
    await fs.rm(marker, { force: true });
    good.requests.length = 0;

    const created: Array<{ title: string; head: string }> = [];
    api.use(
      http.get(`${API}/repos/volpe/clanky/pulls`, () => HttpResponse.json([])),
      http.post(`${API}/repos/volpe/clanky/pulls`, async ({ request }) => {
        created.push((await request.json()) as { title: string; head: string });
        return HttpResponse.json({ number: 7, html_url: 'https://github.com/volpe/clanky/pull/7' }, { status: 201 });
      }),
    );
    const result = await createPullRequest({ worktree: c.worktree, config: c.config, title: 'Fix queue', evidence: { anomaly_id: 'an-1', summary: 'why' }, env: { GITHUB_TOKEN: TOKEN } });
    expect(result).toMatchObject({ kind: 'github', number: 7, pushed: true, branch: c.branch, head: c.sha });

    // The push landed where selfscope says, and only there.
    expect((await git(served, ['rev-parse', `refs/heads/${c.branch}`])).trim()).toBe(c.sha);
    expect(trap.connections).toBe(0);
    expect(resolveTrap.connections).toBe(0);
    expect(good.requests.length).toBeGreaterThanOrEqual(2);
    for (const r of good.requests) {
      expect(r.path.startsWith('/volpe/clanky.git/')).toBe(true);
      expect(r.headers['authorization']).toBe(BASIC);
      expect(r.headers['x-planted']).toBeUndefined();
      expect(r.headers['x-planted-url']).toBeUndefined();
    }
    expect(good.requests.some((r) => r.method === 'POST' && r.path.endsWith('/git-receive-pack'))).toBe(true);
    // No planted program ran; the local remote was neither pushed to nor ran its hooks.
    expect(await exists(marker)).toBe(false);
    expect(await exists(c.hookRan)).toBe(false);
    await expect(git(c.bare, ['rev-parse', '--verify', '--quiet', `refs/heads/${c.branch}`])).rejects.toThrow();
    expect(created).toEqual([expect.objectContaining({ title: 'Fix queue', head: c.branch })]);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });

  it('never force-pushes, and keeps the token out of the error even when the server echoes it', async () => {
    const good = await startGitHttpServer();
    cleanups.push(() => good.close());
    const served = await good.createRepository('volpe', 'clanky');
    // The served repository's hook prints the Authorization header and the decoded token back.
    await fs.writeFile(path.join(served, 'hooks', 'pre-receive'), '#!/bin/sh\necho "auth: $HTTP_AUTHORIZATION" >&2\necho "$HTTP_AUTHORIZATION" | cut -d" " -f2 | base64 -d >&2\necho >&2\nexit 1\n', { mode: 0o755 });
    const c = await committedBranch({ github: { webUrl: good.base } });
    const error = (await createPullRequest({ worktree: c.worktree, config: c.config, title: 't', evidence: {}, env: { GITHUB_TOKEN: TOKEN } }).catch((e: unknown) => e)) as UpstreamError;
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.message).toMatch(/Pushing .* to GitHub failed/);
    const all = JSON.stringify({ m: error.message, h: error.hint, d: error.details, s: error.stack });
    expect(all).toContain('[token]');
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain(BASIC.slice(6));

    // A branch that moved on GitHub is refused, not overwritten.
    await fs.rm(path.join(served, 'hooks', 'pre-receive'));
    const empty = (await git(served, ['hash-object', '-t', 'tree', '-w', '/dev/null'])).trim();
    const other = (await git(served, ['commit-tree', '-m', 'elsewhere', empty])).trim();
    await git(served, ['update-ref', `refs/heads/${c.branch}`, other]);
    const refused = (await createPullRequest({ worktree: c.worktree, config: c.config, title: 't', evidence: {}, env: { GITHUB_TOKEN: TOKEN } }).catch((e: unknown) => e)) as UpstreamError;
    expect(refused).toBeInstanceOf(UpstreamError);
    expect(refused.hint).toMatch(/never force-pushes/);
    expect((await git(served, ['rev-parse', `refs/heads/${c.branch}`])).trim()).toBe(other);
  });

  it('never pushes to a local-path remote (its hooks never run) and never hands it the token: a local proposal says why', async () => {
    const c = await committedBranch({ github: null });
    const secret = 'ghp_' + 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2';
    const r = await createPullRequest({ worktree: c.worktree, config: c.config, title: `Fix queue ${secret}`, evidence: { summary: 's' }, env: { GITHUB_TOKEN: TOKEN } });
    expect(r).toMatchObject({ kind: 'local_proposal', pushed: false, url: null });
    expect(await exists(c.hookRan)).toBe(false);
    await expect(git(c.bare, ['rev-parse', '--verify', '--quiet', `refs/heads/${c.branch}`])).rejects.toThrow();
    const md = await fs.readFile(path.join(r.proposal_dir!, 'PROPOSAL.md'), 'utf8');
    expect(md).toMatch(/Why a local proposal: the remote "origin" is a local path/);
    expect(md).toContain('# Fix queue [REDACTED:github_token]');
    expect(md).not.toContain(secret);
    expect(md).not.toContain(TOKEN);
  });

  it('does not push to a remote on another host, nor without a token', async () => {
    const c = await committedBranch({ github: null });
    await git(c.repo.dir, ['remote', 'set-url', 'origin', 'https://gitlab.example.invalid/volpe/clanky.git']);
    const other = await createPullRequest({ worktree: c.worktree, config: c.config, title: 't', evidence: {}, env: { GITHUB_TOKEN: TOKEN } });
    expect(other).toMatchObject({ kind: 'local_proposal', pushed: false });
    expect(await fs.readFile(path.join(other.proposal_dir!, 'PROPOSAL.md'), 'utf8')).toMatch(/not a GitHub repository on github\.com/);

    await git(c.repo.dir, ['remote', 'set-url', 'origin', 'https://github.com/volpe/clanky.git']);
    const none = await createPullRequest({ worktree: c.worktree, config: c.config, title: 't', evidence: {}, env: {} });
    expect(none).toMatchObject({ kind: 'local_proposal', pushed: false });
    expect(await fs.readFile(path.join(none.proposal_dir!, 'PROPOSAL.md'), 'utf8')).toMatch(/no GitHub token/);
  });

  it('redacts a secret in the pull request title sent to GitHub', async () => {
    const good = await startGitHttpServer();
    cleanups.push(() => good.close());
    await good.createRepository('volpe', 'clanky');
    const c = await committedBranch({ github: { webUrl: good.base } });
    const titles: string[] = [];
    api.use(
      http.post(`${API}/repos/volpe/clanky/pulls`, async ({ request }) => {
        titles.push(((await request.json()) as { title: string }).title);
        return HttpResponse.json({ number: 9, html_url: 'https://github.com/volpe/clanky/pull/9' }, { status: 201 });
      }),
    );
    const secret = 'xoxb-' + '1234567890-abcdefghij';
    await createPullRequest({ worktree: c.worktree, config: c.config, title: `Rotate ${secret}\nnow`, evidence: {}, env: { GITHUB_TOKEN: TOKEN } });
    expect(titles).toEqual(['Rotate [REDACTED:slack_token] now']);
  });
});

describe('the push URL comes from selfscope configuration only', () => {
  it('builds https://<web>/<owner>/<repo>.git and accepts http only on loopback', async () => {
    expect(githubPushUrl(githubWebBase(undefined), 'volpe', 'clanky')).toBe('https://github.com/volpe/clanky.git');
    expect(githubPushUrl(githubWebBase('https://ghe.example.com/'), 'o', 'r.git')).toBe('https://ghe.example.com/o/r.git');
    expect(githubPushUrl(githubWebBase('http://127.0.0.1:8080'), 'o', 'r')).toBe('http://127.0.0.1:8080/o/r.git');
    for (const bad of ['http://github.com', 'http://10.0.0.1', 'https://user:pw@github.com', 'https://github.com/?x=1', 'ftp://github.com', 'file:///tmp/x']) {
      expect(() => configFileSchema.parse({ github: { webUrl: bad } }), bad).toThrow();
      expect(() => githubWebBase(bad), bad).toThrow(/github\.webUrl/);
    }
    expect(configFileSchema.parse({}).github.webUrl).toBe('https://github.com');
    expect(() => githubPushUrl(githubWebBase(undefined), '..', 'r')).toThrow();
    expect(() => githubPushUrl(githubWebBase(undefined), 'o', 'r/../x')).toThrow();
    expect(parseGitHubRemote('git@ghe.example.com:o/r.git', 'ghe.example.com')).toEqual({ owner: 'o', repo: 'r' });
    expect(parseGitHubRemote('https://evil.example/github.com/o/r.git')).toBeNull();
  });

  it('takes the configured repository over the remote, and a remote on the configured host otherwise', async () => {
    const repo = await createTempRepo();
    cleanups.push(repo.cleanup);
    const runner = new GitRunner(repo.dir);
    await git(repo.dir, ['remote', 'add', 'origin', 'git@github.com:someone/else.git']);
    const configured = configFileSchema.parse({ github: { owner: 'volpe', repo: 'clanky' } });
    expect(await pushTarget(runner, configured)).toEqual({ owner: 'volpe', repo: 'clanky', url: 'https://github.com/volpe/clanky.git' });
    expect(await pushTarget(new GitRunner(repo.dir), configFileSchema.parse({}))).toEqual({ owner: 'someone', repo: 'else', url: 'https://github.com/someone/else.git' });
    expect(await pushTarget(new GitRunner(repo.dir), configFileSchema.parse({ github: { webUrl: 'https://ghe.example.com' } }))).toEqual({ reason: expect.stringMatching(/not a GitHub repository on ghe\.example\.com/) });
  });
});
