import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { approveMergeAtTerminal, approveTreeAtTerminal, type TerminalIO } from '../../../src/cli/commands/approve.js';
import { configFileSchema, type ConfigFileInput } from '../../../src/config/schema.js';
import { readAudit } from '../../../src/core/audit/audit-log.js';
import { PolicyError } from '../../../src/core/errors.js';
import { createBranchWorktree } from '../../../src/core/git/branch.js';
import { commitVerified } from '../../../src/core/git/commit.js';
import { approveMerge, mergePullRequest } from '../../../src/core/github/merge.js';
import { githubToken } from '../../../src/core/github/pull-request.js';
import { findApproval, recordApproval } from '../../../src/core/policy/approvals.js';
import { createTempRepo, type TempRepo } from '../../helpers/temp-repo.js';
import { recordPassingChecks } from '../../helpers/verification.js';

const API = 'https://api.github.test';
const TOKEN = 'ghp_approvaltokenapprovaltokenapprovaltok1';
const ALLOWED = '1180000000000000003';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const repos: TempRepo[] = [];
afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.cleanup()));
});


/** A repository whose branch has a verified commit, with a GitHub repository configured. */
async function setup(config: ConfigFileInput = {}) {
  const repo = await createTempRepo({ files: { '.gitignore': '.selfscope/\n', 'src/queue.ts': 'export const q = 1;\n' } });
  repos.push(repo);
  const stateDirPath = path.join(repo.dir, '.selfscope');
  const privateDirPath = repo.privateDir;
  const parsed = configFileSchema.parse({ ...config, github: { apiUrl: API, owner: 'volpe', repo: 'clanky', approvers: ['alice'], allowedUserIds: [ALLOWED], ...config.github } });
  const full = { ...parsed, repo: repo.dir, stateDirPath, privateDirPath };
  const b = await createBranchWorktree({ repo: repo.dir, stateDirPath, name: 'fix-queue', prefix: 'selfscope/', remote: 'origin' });
  const commit = async (content: string) => {
    await fs.writeFile(path.join(b.worktree, 'src', 'queue.ts'), content);
    await recordPassingChecks(b.worktree, privateDirPath);
    return (await commitVerified({ worktree: b.worktree, privateDirPath, git: full.git, message: 'Fix the queue' })).sha;
  };
  const head = { sha: await commit('export const q = 2;\n') };
  return { repo, config: full, worktree: b.worktree, head, commit };
}

/** GitHub with pull request #48 at `head.sha` (read at each request), green, and no reviews. */
function github(head: { sha: string }, calls: { merged: number; reads: number }) {
  return [
    http.get(`${API}/user`, () => HttpResponse.json({ login: 'selfscope-bot' })),
    http.get(`${API}/repos/volpe/clanky/pulls/48`, () => {
      calls.reads++;
      return HttpResponse.json({ number: 48, state: 'open', merged: false, title: 'Fix queue \u001b[31mred', html_url: 'https://github.com/volpe/clanky/pull/48', head: { sha: head.sha, ref: 'selfscope/fix-queue' }, base: { ref: 'main' }, changed_files: 1, additions: 1, deletions: 1 });
    }),
    http.get(`${API}/repos/volpe/clanky/pulls/48/files`, () => HttpResponse.json([{ filename: 'src/queue.ts', status: 'modified', additions: 1, deletions: 1 }])),
    http.get(`${API}/repos/volpe/clanky/commits/:ref/check-runs`, () => HttpResponse.json({ total_count: 0, check_runs: [] })),
    http.get(`${API}/repos/volpe/clanky/commits/:ref/status`, () => HttpResponse.json({ state: 'success', total_count: 0, statuses: [] })),
    http.get(`${API}/repos/volpe/clanky/pulls/48/reviews`, () => HttpResponse.json([])),
    http.put(`${API}/repos/volpe/clanky/pulls/48/merge`, () => {
      calls.merged++;
      return HttpResponse.json({ sha: 'f'.repeat(40), merged: true });
    }),
  ];
}

function terminal(options: { interactive: boolean; answer?: (question: string) => string }): TerminalIO & { output: string; asked: string[] } {
  const io = {
    interactive: options.interactive,
    user: 'operator',
    output: '',
    asked: [] as string[],
    ask: async (question: string) => {
      io.asked.push(question);
      return options.answer ? options.answer(question) : '';
    },
    print: (text: string) => void (io.output += text),
  };
  return io;
}

const env = { GITHUB_TOKEN: TOKEN };

describe('merge approval at a terminal (selfscope approve --pr)', () => {
  it('refuses without an interactive terminal, and records the refusal', async () => {
    const c = await setup();
    const calls = { merged: 0, reads: 0 };
    server.use(...github(c.head, calls));
    const io = terminal({ interactive: false, answer: () => c.head.sha.slice(0, 7) });
    await expect(approveMergeAtTerminal(c.config, 48, io, env)).rejects.toThrow(PolicyError);
    expect(io.asked).toEqual([]);
    expect(calls.reads).toBe(0);
    const refusal = (await readAudit(c.config.privateDirPath)).find((l) => l['event'] === 'merge_approval');
    expect(refusal).toMatchObject({ content: 'selfscope approve: refused: no interactive terminal', level: 'error' });
    expect(await mergePullRequest({ repo: c.repo.dir, config: c.config, number: 48, env })).toMatchObject({ merged: false, status: 'approval_required' });
    expect(calls.merged).toBe(0);
  });

  it('shows the pull request and its head, takes only the typed code, and binds the approval to that head', async () => {
    const c = await setup();
    const calls = { merged: 0, reads: 0 };
    server.use(...github(c.head, calls));
    const wrong = terminal({ interactive: true, answer: () => 'yes' });
    expect(await approveMergeAtTerminal(c.config, 48, wrong, env)).toBe(false);
    expect(await findApproval(c.config.privateDirPath, 'merge', `volpe/clanky#48@${c.head.sha}`)).toBeNull();

    const io = terminal({ interactive: true, answer: () => c.head.sha.slice(0, 7) });
    expect(await approveMergeAtTerminal(c.config, 48, io, env)).toBe(true);
    expect(io.output).toContain(`head ${c.head.sha}`);
    expect(io.output).toContain('src/queue.ts | +1 -1');
    // A title from GitHub cannot drive the terminal.
    expect(io.output).toContain('"Fix queue ?[31mred"');
    expect(io.asked[0]).toContain(`(${c.head.sha.slice(0, 7)})`);
    expect(await findApproval(c.config.privateDirPath, 'merge', `volpe/clanky#48@${c.head.sha}`)).toMatchObject({ via: 'terminal', approved_by: 'operator' });

    expect(await mergePullRequest({ repo: c.repo.dir, config: c.config, number: 48, env })).toMatchObject({ merged: true, approved_via: 'terminal', approved_by: 'operator' });
    expect(calls.merged).toBe(1);
    // A new push is a new head: the approval was of the old one.
    c.head.sha = await c.commit('export const q = 3;\n');
    expect(await mergePullRequest({ repo: c.repo.dir, config: c.config, number: 48, env })).toMatchObject({ merged: false, status: 'approval_required' });
    expect(calls.merged).toBe(1);
    const outcomes = (await readAudit(c.config.privateDirPath)).filter((l) => l['event'] === 'merge_approval').map((l) => l['content']);
    expect(outcomes).toEqual([
      'selfscope approve: refused: confirmation code not typed',
      'selfscope approve: granted',
      'mergePullRequest: granted',
      'mergePullRequest: refused: no human approval',
    ]);
  });

  it('counts no stored elicitation, old command-line or review approval for a merge', async () => {
    const c = await setup();
    const calls = { merged: 0, reads: 0 };
    server.use(...github(c.head, calls));
    const subject = `volpe/clanky#48@${c.head.sha}`;
    for (const via of ['elicitation', 'cli', 'github_review'] as const) await recordApproval(c.config.privateDirPath, { kind: 'merge', subject, approved_by: 'someone', via });
    expect(await mergePullRequest({ repo: c.repo.dir, config: c.config, number: 48, env })).toMatchObject({ merged: false, status: 'approval_required' });
    expect(calls.merged).toBe(0);
  });
});

describe("merge approval through the bot's API", () => {
  it('approveMerge refuses a user not in allowedUserIds and records an allowed one for the current head', async () => {
    const c = await setup();
    const calls = { merged: 0, reads: 0 };
    server.use(...github(c.head, calls));
    await expect(approveMerge({ repo: c.repo.dir, config: c.config, number: 48, approvedByUserId: '999', env })).rejects.toThrow(/not allowed to approve/);
    expect(calls.reads).toBe(0);
    const approved = await approveMerge({ repo: c.repo.dir, config: c.config, number: 48, approvedByUserId: ALLOWED, env });
    expect(approved).toMatchObject({ head: c.head.sha, subject: `volpe/clanky#48@${c.head.sha}` });
    // The agent's git_pr_merge (no user id) now merges that head.
    expect(await mergePullRequest({ repo: c.repo.dir, config: c.config, number: 48, env, caller: 'git_pr_merge' })).toMatchObject({ merged: true, approved_via: 'bot', approved_by: ALLOWED });
    const audit = (await readAudit(c.config.privateDirPath)).filter((l) => l['event'] === 'merge_approval');
    expect(audit.map((l) => [l['content'], l['user_id']])).toEqual([
      ['approveMerge: refused: user not allowed', '999'],
      ['approveMerge: granted', ALLOWED],
      ['git_pr_merge: granted', ALLOWED],
    ]);
  });

  it('mergePullRequest with an allowed user id merges; with another id refuses', async () => {
    const c = await setup();
    const calls = { merged: 0, reads: 0 };
    server.use(...github(c.head, calls));
    await expect(mergePullRequest({ repo: c.repo.dir, config: c.config, number: 48, env, approvedByUserId: '999' })).rejects.toBeInstanceOf(PolicyError);
    expect(calls.merged).toBe(0);
    expect(await mergePullRequest({ repo: c.repo.dir, config: c.config, number: 48, env, approvedByUserId: ALLOWED })).toMatchObject({ merged: true, approved_via: 'bot' });
    expect(calls.merged).toBe(1);
  });
});

describe('sensitive commits', () => {
  async function sensitiveChange(config: ConfigFileInput = {}) {
    const c = await setup(config);
    await fs.mkdir(path.join(c.worktree, '.github', 'workflows'), { recursive: true });
    await fs.writeFile(path.join(c.worktree, '.github', 'workflows', 'ci.yml'), 'on: push\n');
    const tree = await recordPassingChecks(c.worktree, c.config.privateDirPath);
    return { ...c, tree };
  }

  it("never asks the client, and refuses its stored answers, unless git.elicitationApproves is on", async () => {
    const c = await sensitiveChange();
    let asked = 0;
    const askHuman = async () => {
      asked++;
      return { approvedBy: 'mcp-client-user' };
    };
    await recordApproval(c.config.privateDirPath, { kind: 'sensitive_commit', subject: c.tree, approved_by: 'mcp-client-user', via: 'elicitation' });
    const refused = (await commitVerified({ worktree: c.worktree, privateDirPath: c.config.privateDirPath, git: c.config.git, message: 'ci', askHuman }).catch((e: unknown) => e)) as PolicyError;
    expect(refused).toBeInstanceOf(PolicyError);
    expect(refused.hint).toContain(`selfscope approve --tree ${c.tree}`);
    expect(refused.hint).not.toMatch(/client/);
    expect(asked).toBe(0);
    const audit = (await readAudit(c.config.privateDirPath)).filter((l) => l['event'] === 'commit_approval');
    expect(audit.map((l) => l['content'])).toEqual(['git_commit: refused: no human approval']);
  });

  it('takes the client\'s confirmation where configured', async () => {
    const c = await sensitiveChange({ git: { elicitationApproves: true } });
    const ok = await commitVerified({ worktree: c.worktree, privateDirPath: c.config.privateDirPath, git: c.config.git, message: 'ci', askHuman: async () => ({ approvedBy: 'alice' }) });
    expect(ok.approval).toMatch(/^apr-/);
    expect((await findApproval(c.config.privateDirPath, 'sensitive_commit', c.tree))?.via).toBe('elicitation');
  });

  it('takes an approval typed at a terminal (selfscope approve --tree)', async () => {
    const c = await sensitiveChange();
    await expect(approveTreeAtTerminal(c.config, c.tree, terminal({ interactive: false, answer: () => c.tree.slice(0, 6) }))).rejects.toThrow(/interactive terminal/);
    expect(await approveTreeAtTerminal(c.config, c.tree, terminal({ interactive: true, answer: () => c.tree.slice(0, 6) }))).toBe(true);
    const ok = await commitVerified({ worktree: c.worktree, privateDirPath: c.config.privateDirPath, git: c.config.git, message: 'ci' });
    expect(ok.files).toEqual(['.github/workflows/ci.yml']);
    const audit = (await readAudit(c.config.privateDirPath)).filter((l) => l['event'] === 'commit_approval').map((l) => l['content']);
    expect(audit).toEqual(['selfscope approve: refused: no interactive terminal', 'selfscope approve: granted', 'git_commit: granted']);
  });
});

describe('github.tokenFile', () => {
  it('is read instead of the environment, and gives no token once removed', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-token-'));
    try {
      const file = path.join(dir, 'github-token');
      await fs.writeFile(file, `${TOKEN}\n`, { mode: 0o600 });
      const config = configFileSchema.parse({ github: { tokenFile: file } }).github;
      expect(githubToken(config, { GITHUB_TOKEN: 'ghp_other' })).toBe(TOKEN);
      await fs.rm(file);
      expect(githubToken(config, { GITHUB_TOKEN: 'ghp_other' })).toBeNull();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
