import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFileSchema } from '../../../src/config/schema.js';
import { verificationFor } from '../../../src/core/checks/attestation.js';
import { CheckRunner } from '../../../src/core/checks/check-runner.js';
import { compareOutcomes, ensureBaseOutcomes, findBase, markRunFailures, recordedComparison } from '../../../src/core/checks/gate.js';
import { latestComparableRun, readRunFailures } from '../../../src/core/checks/test-outcomes.js';
import { PolicyError } from '../../../src/core/errors.js';
import { recordApproval } from '../../../src/core/policy/approvals.js';
import { createBranchWorktree } from '../../../src/core/git/branch.js';
import { commitVerified } from '../../../src/core/git/commit.js';
import { createPullRequest } from '../../../src/core/github/pull-request.js';
import { StateStore } from '../../../src/core/state/store.js';
import { UNTRUSTED_DETAIL } from '../../../src/core/text/egress.js';
import { fixtureProject, TSCONFIG } from '../../helpers/fixture-project.js';
import { git, type TempRepo } from '../../helpers/temp-repo.js';

/**
 * The "no_new_failures" gate on a project shaped like the bot's: default branch master, a
 * suite with a failure the base has already (it needs the network) and a flaky test (fails
 * on its first run in a worktree, passes when rerun: a marker file in an ignored directory).
 */

const SUITE = `import test from 'node:test';
import assert from 'node:assert';
import fs from 'node:fs';
import { double } from '../src/math.js';
test('doubles', () => assert.equal(double(2), 4));
test('reaches the network', () => assert.fail('ECONNREFUSED api.example.invalid'));
test('settles in time', () => {
  if (!fs.existsSync('ignored/marker')) { fs.mkdirSync('ignored', { recursive: true }); fs.writeFileSync('ignored/marker', 'x'); assert.fail('timed out'); }
});
`;

const gitConfig = configFileSchema.parse({}).git;
let repo: TempRepo;
let stateDirPath: string;
let runner: CheckRunner;
const timeout = 120_000;

beforeAll(async () => {
  repo = await fixtureProject({
    'package.json': JSON.stringify({ name: 'bot', type: 'module', scripts: { test: 'node --test', typecheck: 'tsc --noEmit -p .' } }),
    'tsconfig.json': TSCONFIG,
    'src/math.ts': 'export function double(n: number): number {\n  return n * 2;\n}\n',
    'src/math.js': 'export function double(n) {\n  return n * 2;\n}\n',
    'test/math.test.mjs': SUITE,
  });
  await git(repo.dir, ['branch', '-m', 'main', 'master']);
  stateDirPath = path.join(repo.dir, '.selfscope');
  runner = new CheckRunner(configFileSchema.parse({}).checks, stateDirPath, repo.privateDir, { repo: repo.dir });
}, timeout);

afterAll(async () => {
  await repo?.cleanup();
});

async function branch(name: string) {
  return createBranchWorktree({ repo: repo.dir, stateDirPath, name, prefix: 'selfscope/', remote: 'origin' });
}

async function checkAll(worktree: string) {
  const typecheck = await runner.run({ worktree, check: 'typecheck' });
  expect(typecheck.ok).toBe(true);
  return runner.run({ worktree, check: 'test', rerunFailed: true });
}

const ensureBase = (base: Parameters<typeof ensureBaseOutcomes>[0]['base']) => ensureBaseOutcomes({ privateDirPath: repo.privateDir, stateDirPath, repo: repo.dir, base, runner });

describe('comparing outcomes', () => {
  it('counts a test of the base that did not run as missing, unless it passed when its file ran alone (flaky)', () => {
    const record = (run_id: string, outcomes: Array<[string, 'passed' | 'failed' | 'skipped']>, flaky: string[] = []) => ({ run_id, tree: run_id, comparable: true, not_comparable_reason: null, outcomes, flaky, finished_at: '' }) as Parameters<typeof compareOutcomes>[0];
    const base = record('base', [['a :: one', 'passed'], ['a :: two', 'passed'], ['b :: three', 'passed'], ['b :: four', 'failed']]);
    const branch = record('branch', [['a :: one', 'passed'], ['b :: three', 'skipped'], ['b :: four', 'failed']], ['a :: two']);
    const c = compareOutcomes(branch, base, { branch: 'master', commit: 'c', tree: 't' });
    expect(c).toMatchObject({ new_failures: [], pre_existing: ['b :: four'], flaky: ['a :: two'], missing: ['b :: three'] });
  });
});

describe('checks.gate "no_new_failures"', () => {
  it('finds the base as the merge-base with master, runs it once in a temporary worktree, and reuses the record', async () => {
    const { worktree, base_commit } = await branch('find-base');
    const base = await findBase(worktree, gitConfig);
    expect(base).toMatchObject({ branch: 'master', commit: base_commit });
    const first = await ensureBase(base!);
    expect('problem' in first).toBe(false);
    if ('problem' in first) return;
    expect(first.reused).toBe(false);
    expect(first.run.tree).toBe(base!.tree);
    const failed = first.outcomes.outcomes.filter(([, s]) => s === 'failed').map(([id]) => id);
    expect(failed).toEqual([' :: reaches the network', ' :: settles in time']);
    const again = await ensureBase(base!);
    expect('reused' in again && again.reused).toBe(true);
    // The temporary worktree is gone.
    const left = (await fs.readdir(path.join(stateDirPath, 'worktrees'))).filter((d) => d.startsWith('.base-'));
    expect(left).toEqual([]);
    expect(await git(repo.dir, ['worktree', 'list', '--porcelain'])).not.toMatch(/\.base-/);
  }, timeout);

  it('commits a fix that adds no failure; the pre-existing failure and the flaky test are listed, not blocking', async () => {
    const { worktree } = await branch('fix-ok');
    await fs.writeFile(path.join(worktree, 'src', 'math.ts'), 'export function double(n: number): number {\n  return n + n;\n}\n');
    const test = await checkAll(worktree);
    expect(test.ok).toBe(false);
    expect(test.flaky.map((f) => f.name)).toEqual(['settles in time']);
    // Strict mode is unchanged: a tree with a failing test is never committed.
    const strict = await commitVerified({ worktree, privateDirPath: repo.privateDir, git: gitConfig, message: 'Double by adding' }).catch((e: unknown) => e);
    expect(strict).toBeInstanceOf(PolicyError);
    expect((strict as PolicyError).message).toMatch(/test: its latest run did not pass/);

    const result = await commitVerified({ worktree, privateDirPath: repo.privateDir, git: gitConfig, message: 'Double by adding', gate: 'no_new_failures', ensureBase });
    expect(result.tree).toBe(test.tree);
    expect(result.gate.mode).toBe('no_new_failures');
    expect(result.gate.comparison?.counts).toEqual({ new: 0, pre_existing: 1, flaky: 1, fixed: 0, missing: 0 });
    expect(result.gate.comparison?.pre_existing).toEqual([' :: reaches the network']);
    expect(result.gate.comparison?.flaky).toEqual([' :: settles in time']);
    expect(result.gate.reason).toMatch(/no test fails that passed on the base \(master at [0-9a-f]{12}\); 1 pre-existing failure\(s\); 1 flaky/);
    // The decision is audited.
    const audit = await fs.readFile(path.join(repo.privateDir, 'audit.ndjson'), 'utf8');
    expect(audit).toMatch(/"event":"commit_gate".*allowed: typecheck passed/);

    // The pull request (here a local proposal: no token) says on what grounds, and lists the tests.
    const config = { ...configFileSchema.parse({}), stateDirPath, privateDirPath: repo.privateDir };
    const pr = await createPullRequest({ worktree, config, title: 'Double by adding', evidence: {}, env: {} });
    const body = await fs.readFile(path.join(pr.proposal_dir!, 'PROPOSAL.md'), 'utf8');
    expect(body).toMatch(/Typecheck passed on tree `[0-9a-f]{40}` \(the committed tree\), and no test fails there that passed on the base/);
    expect(body).toMatch(/0 new failure\(s\), 0 fixed, 1 pre-existing, 1 flaky/);
    expect(body).toContain('**Pre-existing failures (fail on the base too)** (1)\n\n- ` :: reaches the network`');
    expect(body).toContain('**Flaky (failed, then passed when rerun alone)** (1)\n\n- ` :: settles in time`');
    expect(body).not.toMatch(/New failures/);
  }, timeout);

  it('refuses a fix that breaks a test passing on the base, and one the branch adds that fails, naming them', async () => {
    const { worktree } = await branch('fix-bad');
    await fs.writeFile(path.join(worktree, 'src', 'math.js'), 'export function double(n) {\n  return n * 3;\n}\n');
    await fs.writeFile(path.join(worktree, 'test', 'added.test.mjs'), "import test from 'node:test';\nimport assert from 'node:assert';\ntest('the new case', () => assert.strictEqual(1, 2));\n");
    const test = await checkAll(worktree);
    const marks = await markRunFailures(stateDirPath, test.id, (await recordedComparison(repo.privateDir, worktree, test.tree, gitConfig, (await verificationFor(repo.privateDir, test.tree)).test))!);
    // New ones first (what to act on), then flaky, then pre-existing.
    expect(marks?.map((f) => f.mark)).toEqual(['new', 'new', 'flaky', 'pre_existing']);
    expect(marks?.slice(0, 2).map((f) => f.name).sort()).toEqual(['doubles', 'the new case']);
    expect(marks?.slice(2).map((f) => f.name)).toEqual(['settles in time', 'reaches the network']);
    const refused = (await commitVerified({ worktree, privateDirPath: repo.privateDir, git: gitConfig, message: 'Triple', gate: 'no_new_failures', ensureBase }).catch((e: unknown) => e)) as PolicyError;
    expect(refused).toBeInstanceOf(PolicyError);
    expect(refused.message).toMatch(/^Refused \(checks\.gate "no_new_failures"\): 2 new failing test\(s\)/);
    expect(refused.hint).toMatch(/rerun_failed/);
    expect(String(refused.details?.[UNTRUSTED_DETAIL]).split('\n').sort()).toEqual([' :: doubles', ' :: the new case', 'New failures (2):']);
    expect(refused.details?.['comparison']).toMatchObject({ new: 2, pre_existing: 1, flaky: 1 });
    // Every failure is reachable, paged, with its mark.
    const page = await readRunFailures(stateDirPath, test.id, 1, 2);
    expect(page).toMatchObject({ total: 4, offset: 1, next_offset: 3 });
    expect(page?.failures.map((f) => f.mark)).toEqual(['new', 'flaky']);
  }, timeout);

  it('refuses a change after which a test that passed on the base no longer runs, unless a person approves the tree', async () => {
    const { worktree } = await branch('fix-skip');
    const suite = path.join(worktree, 'test', 'math.test.mjs');
    await fs.writeFile(suite, (await fs.readFile(suite, 'utf8')).replace("test('doubles'", "test.skip('doubles'"));
    const test = await checkAll(worktree);
    const commit = () => commitVerified({ worktree, privateDirPath: repo.privateDir, git: gitConfig, message: 'Skip', gate: 'no_new_failures', ensureBase });
    const refused = (await commit().catch((e: unknown) => e)) as PolicyError;
    expect(refused).toBeInstanceOf(PolicyError);
    expect(refused.message).toMatch(/1 test that passed on the base \(master at [0-9a-f]{12}\) did not run on this tree/);
    expect(refused.hint).toContain(`selfscope approve --tree ${test.tree}`);
    expect(String(refused.details?.[UNTRUSTED_DETAIL])).toMatch(/Passed on the base, not run here \(1\):\n.* :: doubles/);
    await recordApproval(repo.privateDir, { kind: 'sensitive_commit', subject: test.tree, approved_by: 'alice', via: 'terminal' });
    const done = await commit();
    expect(done.gate.reason).toMatch(/1 test\(s\) of the base no longer run, approved by a person/);
  }, timeout);

  it('refuses when typecheck did not pass, even with no new failure', async () => {
    const { worktree } = await branch('fix-types');
    await fs.writeFile(path.join(worktree, 'src', 'math.ts'), 'export function double(n: number): string {\n  return n * 2;\n}\n');
    const typecheck = await runner.run({ worktree, check: 'typecheck' });
    expect(typecheck.ok).toBe(false);
    await runner.run({ worktree, check: 'test' });
    await expect(commitVerified({ worktree, privateDirPath: repo.privateDir, git: gitConfig, message: 'x', gate: 'no_new_failures', ensureBase })).rejects.toThrow(/typecheck: its latest run did not pass/);
  }, timeout);

  it('refuses a forged outcome list: an edited row, or a signed list of another run', async () => {
    const { worktree } = await branch('fix-forged');
    await fs.writeFile(path.join(worktree, 'src', 'math.js'), 'export function double(n) {\n  return 0;\n}\n');
    const test = await checkAll(worktree);
    const sql = (statement: string) => StateStore.inStateDir(repo.privateDir).run('raw', [], async (conn) => void (await conn.run(statement)));
    const req = { worktree, privateDirPath: repo.privateDir, git: gitConfig, message: 'x', gate: 'no_new_failures' as const, ensureBase };
    await expect(commitVerified(req)).rejects.toThrow(/1 new failing test/);
    // The agent marks its failure as passed in the record: the MAC no longer matches.
    await sql(`UPDATE test_outcomes SET record = replace(record, '" :: doubles","failed"', '" :: doubles","passed"') WHERE run_id = '${test.id}'`);
    await expect(commitVerified(req)).rejects.toThrow(/kept no per-test outcomes/);
    // A genuinely signed list of the base run, relabelled as this run's: the run's digest does not name it.
    const base = (await latestComparableRun(repo.privateDir, (await findBase(worktree, gitConfig))!.tree))!;
    await sql(`DELETE FROM test_outcomes WHERE run_id = '${test.id}'`);
    await sql(`INSERT INTO test_outcomes SELECT '${test.id}', '${test.tree}', record, mac FROM test_outcomes WHERE run_id = '${base.run.id}'`);
    await expect(commitVerified(req)).rejects.toThrow(/kept no per-test outcomes/);
    const audit = await fs.readFile(path.join(repo.privateDir, 'audit.ndjson'), 'utf8');
    expect(audit).toMatch(/record_refused.*test_outcomes/);
  }, timeout);
});
