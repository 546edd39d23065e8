import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { execa } from 'execa';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { readAudit } from '../../src/core/audit/audit-log.js';
import { createBranchWorktree } from '../../src/core/git/branch.js';
import { commitVerified } from '../../src/core/git/commit.js';
import type { Logger } from '../../src/core/logger.js';
import { AppContext } from '../../src/server/app-context.js';
import { createServer } from '../../src/server/create-server.js';
import { CLI } from '../helpers/mcp-client.js';
import { createTempRepo, git, type TempRepo } from '../helpers/temp-repo.js';
import { recordPassingChecks } from '../helpers/verification.js';

/**
 * A client that accepts every confirmation the server asks for (an agent's own client, a
 * script, an auto-accept setting) is not a human: the real server, driven by the real SDK
 * client, never merges or commits a sensitive change on its word.
 */

const API = 'https://api.github.test';
const TOKEN = 'ghp_elicittokenelicittokenelicittokenelic1';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const silent: Logger = { log() {} };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});


/** The real server in-process, its GitHub token in a file, and a client that says yes to everything. */
async function connect(repo: TempRepo, flags: Record<string, unknown> = {}) {
  const tokenFile = path.join(repo.privateDir, 'github-token');
  await fs.mkdir(repo.privateDir, { recursive: true, mode: 0o700 });
  await fs.writeFile(tokenFile, TOKEN, { mode: 0o600 });
  const config = await loadConfig({
    cwd: repo.dir,
    env: {},
    flags: { privateDir: repo.privateDir, github: { apiUrl: API, owner: 'volpe', repo: 'clanky', approvers: ['alice'], allowedUserIds: ['1180000000000000003'], tokenFile }, ...flags },
  });
  const app = new AppContext(config, silent, { transport: 'in-process', readOnly: false, toolsets: undefined }, repo.dir);
  const mcp = createServer(app);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'auto-accept', version: '0' }, { capabilities: { elicitation: {} } });
  const asked: string[] = [];
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    asked.push(String(request.params.message));
    return { action: 'accept', content: { approve: true } };
  });
  await Promise.all([mcp.connect(serverSide), client.connect(clientSide)]);
  cleanups.push(async () => {
    await client.close();
    await app.close();
  });
  return { client, config, asked };
}

async function repoWithBranch() {
  const repo = await createTempRepo({ files: { '.gitignore': '.selfscope/\n', 'src/queue.ts': 'export const q = 1;\n' } });
  cleanups.push(repo.cleanup);
  const stateDirPath = path.join(repo.dir, '.selfscope');
  const b = await createBranchWorktree({ repo: repo.dir, stateDirPath, name: 'fix-queue', prefix: 'selfscope/', remote: 'origin' });
  return { repo, worktree: b.worktree, stateDirPath };
}

const call = async (client: Client, name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as CallToolResult;
const text = (r: CallToolResult) => (r.content[0] as { text: string }).text;

describe('a client that accepts every confirmation', () => {
  it('cannot approve a merge: git_pr_merge refuses, says who can approve and how, and never reaches GitHub\'s merge', async () => {
    const { repo, worktree } = await repoWithBranch();
    const { client, config, asked } = await connect(repo);
    await fs.writeFile(path.join(worktree, 'src', 'queue.ts'), 'export const q = 2;\n');
    await recordPassingChecks(worktree, config.privateDirPath);
    const head = (await commitVerified({ worktree, privateDirPath: config.privateDirPath, git: config.git, message: 'Fix the queue' })).sha;
    let mergeCalls = 0;
    server.use(
      http.get(`${API}/user`, () => HttpResponse.json({ login: 'selfscope-bot' })),
      http.get(`${API}/repos/volpe/clanky/pulls/48`, () => HttpResponse.json({ number: 48, state: 'open', merged: false, title: 'Fix queue', html_url: 'https://github.com/volpe/clanky/pull/48', head: { sha: head, ref: 'selfscope/fix-queue' }, base: { ref: 'main' } })),
      http.get(`${API}/repos/volpe/clanky/commits/${head}/check-runs`, () => HttpResponse.json({ total_count: 1, check_runs: [{ name: 'ci', status: 'completed', conclusion: 'success' }] })),
      http.get(`${API}/repos/volpe/clanky/commits/${head}/status`, () => HttpResponse.json({ state: 'success', total_count: 0, statuses: [] })),
      http.get(`${API}/repos/volpe/clanky/pulls/48/reviews`, () => HttpResponse.json([])),
      http.put(`${API}/repos/volpe/clanky/pulls/48/merge`, () => {
        mergeCalls++;
        return HttpResponse.json({ sha: 'f'.repeat(40), merged: true });
      }),
    );
    const result = await call(client, 'git_pr_merge', { number: 48 });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ merged: false, status: 'approval_required' });
    const todo = String((result.structuredContent as { what_to_do: string }).what_to_do);
    expect(todo).toContain('alice');
    expect(todo).toContain('selfscope approve --pr 48');
    expect(todo).toMatch(/allowed user .*ship it/);
    expect(text(result)).toMatch(/^Not merged \(approval_required\)/);
    expect(asked).toEqual([]);
    expect(mergeCalls).toBe(0);
    const refusal = (await readAudit(config.privateDirPath)).find((l) => l['event'] === 'merge_approval');
    expect(refusal?.['content']).toBe('git_pr_merge: refused: no human approval');
  });

  it('cannot approve a commit of a CI workflow unless git.elicitationApproves is on', async () => {
    const { repo, worktree } = await repoWithBranch();
    await fs.mkdir(path.join(worktree, '.github', 'workflows'), { recursive: true });
    await fs.writeFile(path.join(worktree, '.github', 'workflows', 'ci.yml'), 'on: push\njobs: {}\n');

    const off = await connect(repo);
    const tree = await recordPassingChecks(worktree, off.config.privateDirPath);
    const refused = await call(off.client, 'git_commit', { worktree, message: 'Add CI' });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/security-sensitive/);
    expect(text(refused)).toContain(`selfscope approve --tree ${tree}`);
    expect(off.asked).toEqual([]);
    expect((await git(worktree, ['rev-parse', 'HEAD'])).trim()).toBe((await git(repo.dir, ['rev-parse', 'main'])).trim());

    // Where the configuration says a person answers this client, its yes approves.
    const on = await connect(repo, { git: { elicitationApproves: true } });
    const committed = await call(on.client, 'git_commit', { worktree, message: 'Add CI' });
    expect(committed.isError).toBeFalsy();
    expect(committed.structuredContent).toMatchObject({ tree, files: ['.github/workflows/ci.yml'], approval: expect.stringMatching(/^apr-/) });
    expect(on.asked).toHaveLength(1);
    expect(on.asked[0]).toContain('.github/workflows/ci.yml');
    const audit = (await readAudit(on.config.privateDirPath)).filter((l) => l['event'] === 'commit_approval').map((l) => l['content']);
    expect(audit).toEqual(['git_commit: refused: no human approval', 'git_commit: granted']);
  });
});

describe('approving at a shell', () => {
  it('`selfscope approve --pr` refuses without a terminal, and `selfscope merge` takes no user id', async () => {
    const repo = await createTempRepo();
    cleanups.push(repo.cleanup);
    const xdg = await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-approve-xdg-'));
    cleanups.push(() => fs.rm(xdg, { recursive: true, force: true }));
    const env = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? os.homedir(), XDG_STATE_HOME: xdg, GITHUB_TOKEN: TOKEN, SELFSCOPE_GITHUB__API_URL: 'http://127.0.0.1:9', SELFSCOPE_GITHUB__OWNER: 'volpe', SELFSCOPE_GITHUB__REPO: 'clanky' };
    const run = (args: string[]) => execa(process.execPath, [CLI, ...args], { cwd: repo.dir, env, extendEnv: false, reject: false, stdin: 'pipe', timeout: 30_000 });

    const approve = await run(['approve', '--pr', '48']);
    expect(approve.exitCode).toBe(1);
    expect(approve.stderr).toMatch(/must be run by a person at an interactive terminal/);
    const privateDir = (await loadConfig({ cwd: repo.dir, env })).privateDirPath;
    const audit = await readAudit(privateDir);
    expect(audit.map((l) => l['content'])).toEqual(['selfscope approve: refused: no interactive terminal']);

    const merge = await run(['merge', '48', '--approved-by', '1180000000000000003']);
    expect(merge.exitCode).toBe(2);
    expect(merge.stderr).toMatch(/unknown option '--approved-by'/);
  }, 60_000);
});
