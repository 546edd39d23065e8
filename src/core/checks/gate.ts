import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ConfigFile } from '../../config/schema.js';
import { appendAudit } from '../audit/audit-log.js';
import { defaultBranch, resolveBase } from '../git/branch.js';
import { GitRunner } from '../git/runner.js';
import { worktreesDir } from '../git/worktrees.js';
import { copyIgnored, emptyReport, initSubmodules, linkDependencies, pruneSubmoduleWorktrees } from '../worktree/prepare.js';
import { runSetupSteps, type StepRunner } from '../worktree/setup-steps.js';
import type { Verification, VerificationRun } from './attestation.js';
import type { CheckRunner } from './check-runner.js';
import { latestComparableRun, outcomesOfRun, readRunFailures, writeRunFailures, type FailureMark, type RunFailure, type TestOutcomeRecord } from './test-outcomes.js';

/**
 * The commit gate's two modes. "strict": every test passed on the tree. "no_new_failures":
 * typecheck passed on the tree, and no test fails there that passed on the base tree (the
 * merge-base of the branch with the default branch), nor a test the branch adds; failures
 * the base has too are pre-existing, and a failure that passed when rerun alone is flaky:
 * neither blocks. Both sides are full runs recorded with every test's outcome, signed.
 */

export type GateMode = 'strict' | 'no_new_failures';

export interface BaseRef {
  /** The default branch (configured, else the remote's HEAD, else main/master). */
  branch: string;
  /** The merge-base of HEAD with it. */
  commit: string;
  tree: string;
}

/** How a tree's failures stand against its base's, test by test. */
export interface Comparison {
  base: BaseRef;
  base_run: string;
  branch_run: string;
  /** Fail here; passed on the base, or are not there (or were skipped there). */
  new_failures: string[];
  /** Fail here and on the base. */
  pre_existing: string[];
  /** Failed here, passed when rerun alone. */
  flaky: string[];
  /** Failed on the base, pass here. */
  fixed: string[];
  /**
   * Passed on the base, did not run here (removed, renamed, skipped, or in a file that no
   * longer loads): a change that breaks a test file at import would otherwise pass as "no
   * new failures".
   */
  missing: string[];
}

export interface GateDecision {
  mode: GateMode;
  allowed: boolean;
  /** One sentence: on what grounds the tree may be committed, or why not. */
  reason: string;
  /** What to do when refused. */
  hint: string | null;
  comparison: Comparison | null;
}

const MAX_TESTS = 20;

/** The base of the worktree's branch: its merge-base with the default branch. Null when there is none. */
export async function findBase(worktree: string, gitConfig: Pick<ConfigFile['git'], 'defaultBranch' | 'remote'>, git: GitRunner = new GitRunner(worktree)): Promise<BaseRef | null> {
  const branch = await defaultBranch(git, gitConfig.defaultBranch, gitConfig.remote).catch(() => null);
  if (!branch || branch.startsWith('-')) return null;
  // The local branch, else the remote's (a deployment may have only origin/master).
  const resolved = await resolveBase(git, branch, gitConfig.remote);
  if (!resolved) return null;
  try {
    const commit = (await git.run(['merge-base', 'HEAD', resolved.commit])).trim();
    const tree = (await git.run(['rev-parse', '--verify', '--end-of-options', `${commit}^{tree}`])).trim();
    return { branch, commit, tree };
  } catch {
    return null; // no common history
  }
}

/**
 * The default branch's latest recorded full run, when tests fail in it: with "strict" no fix
 * could ever be committed there. Reads records only (never runs the suite) and creates
 * nothing: null without private state, without a recorded run, or when it is green.
 */
export async function recordedRedBase(repo: string, privateDirPath: string, gitConfig: Pick<ConfigFile['git'], 'defaultBranch' | 'remote'>): Promise<{ base: BaseRef; run: string; failed: number; total: number } | null> {
  const present = await Promise.all(['record-key', 'state.duckdb'].map((f) => fs.stat(path.join(privateDirPath, f)).then(() => true, () => false)));
  if (present.includes(false)) return null;
  const base = await findBase(repo, gitConfig).catch(() => null);
  if (!base) return null;
  const found = await latestComparableRun(privateDirPath, base.tree).catch(() => null);
  if (!found) return null;
  const failed = found.outcomes.outcomes.filter(([, status]) => status === 'failed').length;
  return failed > 0 ? { base, run: found.run.id, failed, total: found.outcomes.outcomes.length } : null;
}

/** Compares a tree's full run with its base's, test by test. */
export function compareOutcomes(branch: TestOutcomeRecord, base: TestOutcomeRecord, ref: BaseRef): Comparison {
  const baseStatus = new Map(base.outcomes);
  const flakyIds = new Set(branch.flaky);
  const out: Comparison = { base: ref, base_run: base.run_id, branch_run: branch.run_id, new_failures: [], pre_existing: [], flaky: [], fixed: [], missing: [] };
  const branchStatus = new Map(branch.outcomes);
  for (const [id, status] of branch.outcomes) {
    if (status !== 'failed') continue;
    if (flakyIds.has(id)) out.flaky.push(id);
    else if (baseStatus.get(id) === 'failed') out.pre_existing.push(id);
    else out.new_failures.push(id);
  }
  for (const [id, status] of base.outcomes) {
    if (status === 'failed' && branchStatus.get(id) === 'passed') out.fixed.push(id);
    else if (status === 'passed' && branchStatus.get(id) !== 'passed' && branchStatus.get(id) !== 'failed') (flakyIds.has(id) ? out.flaky : out.missing).push(id);
  }
  return out;
}

/** The marks of a run's failures against a comparison. */
export function failureMarks(c: Comparison): Map<string, FailureMark> {
  const marks = new Map<string, FailureMark>();
  for (const id of c.new_failures) marks.set(id, 'new');
  for (const id of c.pre_existing) marks.set(id, 'pre_existing');
  for (const id of c.flaky) marks.set(id, 'flaky');
  return marks;
}

export interface BaseRunOptions {
  privateDirPath: string;
  stateDirPath: string;
  /** The repository (its main checkout), where the temporary worktree is added. */
  repo: string;
  base: BaseRef;
  runner: CheckRunner;
  /** Made ready as a branch worktree is (worktree.*): the base must run as the branch does. */
  prepare?: { dir?: string | undefined; copy?: readonly string[]; setup?: readonly (readonly string[])[]; setupTimeoutS?: number; runStep?: StepRunner };
  timeoutS?: number;
  signal?: AbortSignal;
}

export type BaseOutcomes = { run: VerificationRun; outcomes: TestOutcomeRecord; reused: boolean } | { problem: string };

/**
 * The base tree's full test outcomes: a recorded run reused, else a run of the base commit
 * in a detached temporary worktree, through the same sandboxed runner and recorded the
 * same way. The worktree is removed afterwards.
 */
export async function ensureBaseOutcomes(options: BaseRunOptions): Promise<BaseOutcomes> {
  const known = await latestComparableRun(options.privateDirPath, options.base.tree);
  if (known) return { ...known, reused: true };
  const git = new GitRunner(options.repo);
  const root = await worktreesDir({ repo: options.repo, stateDirPath: options.stateDirPath, privateDirPath: options.privateDirPath, dir: options.prepare?.dir });
  await fs.mkdir(root, { recursive: true, mode: 0o700 });
  const dir = path.join(root, `.base-${options.base.commit.slice(0, 12)}-${randomBytes(3).toString('hex')}`);
  const report = emptyReport();
  let problem: string | null = null;
  try {
    await git.run(['worktree', 'add', '--detach', '--end-of-options', dir, options.base.commit]);
    const real = await fs.realpath(dir);
    const repoReal = await fs.realpath(options.repo);
    await initSubmodules(repoReal, real, report);
    await linkDependencies(repoReal, real, report);
    await copyIgnored(repoReal, real, options.prepare?.copy ?? [], report);
    const steps = options.prepare?.setup ?? [];
    if (steps.length > 0 && options.prepare?.runStep) await runSetupSteps(steps, real, options.prepare.runStep, options.prepare.setupTimeoutS ?? 600);
    const result = await options.runner.run({ worktree: real, check: 'test', ...(options.timeoutS !== undefined ? { timeoutS: options.timeoutS } : {}), ...(options.signal ? { signal: options.signal } : {}) });
    if (result.tree !== options.base.tree) problem = `the base worktree's tree (${result.tree.slice(0, 12)}) is not the base commit's (a file git does not ignore appeared in it)`;
    else if (!result.outcomes_recorded) problem = `its run kept no per-test outcomes (${result.not_ok_reason ?? 'no report'})`;
    await appendAudit(options.privateDirPath, {
      kind: 'selfscope_checks',
      event: 'base_run',
      tool: 'run_tests',
      outcome: problem ? `failed: ${problem}` : 'recorded',
      arguments: { base_branch: options.base.branch, base_commit: options.base.commit, base_tree: options.base.tree },
      details: { run: result.id, counts: result.counts, not_ok_reason: result.not_ok_reason, sandbox: result.sandbox, prepared: report },
    }).catch(() => {});
  } catch (error) {
    problem = `the base could not be run (${error instanceof Error ? error.message.slice(0, 200) : 'error'})`;
  } finally {
    await git.run(['worktree', 'remove', '--force', '--force', '--end-of-options', dir]).catch(() => fs.rm(dir, { recursive: true, force: true }));
    await git.run(['worktree', 'prune']).catch(() => {});
    await pruneSubmoduleWorktrees(options.repo, report.submodules);
  }
  const after = await latestComparableRun(options.privateDirPath, options.base.tree);
  if (after) return { ...after, reused: false };
  return { problem: problem ?? 'its run could not be compared test by test' };
}

export interface DecideOptions {
  privateDirPath: string;
  worktree: string;
  tree: string;
  mode: GateMode;
  git: Pick<ConfigFile['git'], 'defaultBranch' | 'remote'>;
  verification: Verification;
  /** Runs the base when no full run of it is recorded (else the gate refuses and says so). */
  ensureBase?: (base: BaseRef) => Promise<BaseOutcomes>;
  /** Whether a person approved this tree (selfscope approve --tree): lets tests of the base that no longer run through. */
  approvedTree?: () => Promise<boolean>;
}

/** The comparison of a tree's latest full run with its base's, from records only (no run). */
export async function recordedComparison(privateDirPath: string, worktree: string, tree: string, git: DecideOptions['git'], testRun: VerificationRun | null, base?: BaseRef | null): Promise<Comparison | null> {
  if (!testRun) return null;
  const mine = await outcomesOfRun(privateDirPath, testRun);
  if (!mine?.comparable) return null;
  const ref = base === undefined ? await findBase(worktree, git) : base;
  if (!ref) return null;
  const theirs = await latestComparableRun(privateDirPath, ref.tree);
  return theirs ? compareOutcomes(mine, theirs.outcomes, ref) : null;
}

/** Whether the gate lets this exact tree be committed, and on what grounds. */
export async function decideGate(options: DecideOptions): Promise<GateDecision> {
  const v = options.verification;
  const { mode } = options;
  if (mode === 'strict' || v.verified) {
    const comparison = v.verified ? await recordedComparison(options.privateDirPath, options.worktree, options.tree, options.git, v.test).catch(() => null) : null;
    return v.verified
      ? { mode, allowed: true, reason: 'typecheck and every test passed on this exact tree', hint: null, comparison }
      : { mode, allowed: false, reason: `on this exact tree: ${v.missing.map((m) => `${m}: ${v.reasons[m] ?? 'did not pass'}`).join('; ')}`, hint: 'Run run_typecheck and run_tests on this worktree now (after your last edit), fix what fails, then call git_commit again.', comparison: null };
  }
  const refuse = (reason: string, hint: string, comparison: Comparison | null = null): GateDecision => ({ mode, allowed: false, reason, hint, comparison });
  if (v.reasons.typecheck) return refuse(`typecheck: ${v.reasons.typecheck}`, 'Run run_typecheck on this worktree now (after your last edit) and fix what it reports; checks.gate "no_new_failures" still needs the typecheck to pass.');
  const run = v.test;
  if (!run) return refuse('test: no full run recorded on this exact tree', 'Run run_tests (without files or name_pattern) on this worktree after your last edit, then call git_commit again.');
  if (run.sandbox !== 'bwrap' && run.sandbox !== 'off') return refuse(`test: ${v.reasons.test ?? 'its latest run was outside the sandbox'}`, 'Install bubblewrap and run run_tests again.');
  const mine = await outcomesOfRun(options.privateDirPath, run);
  if (!mine) return refuse('test: its latest run kept no per-test outcomes to compare with the base', 'Run run_tests (a full run) on this worktree again, then call git_commit.');
  if (!mine.comparable) return refuse(`test: its latest run cannot be compared test by test (${mine.not_comparable_reason ?? 'incomplete'})`, 'Make the full run finish with a report (run_tests without files or name_pattern), then call git_commit again.');
  const base = await findBase(options.worktree, options.git);
  if (!base) return refuse('no base to compare with: the branch shares no history with the default branch', 'Set git.defaultBranch, or use checks.gate "strict".');
  let theirs: BaseOutcomes | null = await latestComparableRun(options.privateDirPath, base.tree).then((r) => (r ? { ...r, reused: true } : null));
  if (!theirs && options.ensureBase) theirs = await options.ensureBase(base);
  if (!theirs || 'problem' in theirs) {
    return refuse(`the base (${base.branch} at ${base.commit.slice(0, 12)}) has no full test run recorded${theirs && 'problem' in theirs ? `: ${theirs.problem}` : ''}`, 'Run run_tests (a full run) on this worktree: with checks.gate "no_new_failures" it runs the base too. Then call git_commit again.');
  }
  const comparison = compareOutcomes(mine, theirs.outcomes, base);
  if (comparison.new_failures.length > 0) {
    const n = comparison.new_failures.length;
    return refuse(
      `${n} test${n === 1 ? '' : 's'} fail${n === 1 ? 's' : ''} on this tree that passed on the base (${base.branch} at ${base.commit.slice(0, 12)}) or that the branch adds`,
      `Fix ${n === 1 ? 'it' : 'them'} (the list is below; run_tests with files or name_pattern runs just those, and selfscope://runs/${run.id}?view=failures has each message and location), then run run_tests in full and call git_commit again. If one fails only sometimes, run run_tests with rerun_failed: true; a failure that passes when rerun is flaky and does not block.`,
      comparison,
    );
  }
  if (comparison.missing.length > 0 && !(options.approvedTree && (await options.approvedTree()))) {
    const n = comparison.missing.length;
    return refuse(
      `${n} test${n === 1 ? '' : 's'} that passed on the base (${base.branch} at ${base.commit.slice(0, 12)}) did not run on this tree`,
      `A test that is removed, renamed or skipped, or whose file no longer loads, drops out of the run instead of failing. Make ${n === 1 ? 'it' : 'them'} run again (the list is below; the run's output at selfscope://runs/${run.id} shows load errors), then run run_tests in full and call git_commit again. If the branch removes or renames ${n === 1 ? 'it' : 'them'} on purpose, a person approves this tree in a terminal: selfscope approve --tree ${options.tree}.`,
      comparison,
    );
  }
  const parts = [`typecheck passed and no test fails that passed on the base (${base.branch} at ${base.commit.slice(0, 12)})`];
  if (comparison.pre_existing.length) parts.push(`${comparison.pre_existing.length} pre-existing failure(s)`);
  if (comparison.flaky.length) parts.push(`${comparison.flaky.length} flaky`);
  if (comparison.missing.length) parts.push(`${comparison.missing.length} test(s) of the base no longer run, approved by a person for this tree`);
  return { mode, allowed: true, reason: parts.join('; '), hint: null, comparison };
}

/** A comparison as results and audit lines carry it: counts, and bounded lists. */
export function comparisonSummary(c: Comparison, max = MAX_TESTS): {
  base_branch: string;
  base_commit: string;
  base_tree: string;
  base_run: string;
  branch_run: string;
  counts: { new: number; pre_existing: number; flaky: number; fixed: number; missing: number };
  new_failures: string[];
  missing: string[];
  pre_existing: string[];
  flaky: string[];
  fixed: string[];
} {
  return {
    base_branch: c.base.branch,
    base_commit: c.base.commit,
    base_tree: c.base.tree,
    base_run: c.base_run,
    branch_run: c.branch_run,
    counts: { new: c.new_failures.length, pre_existing: c.pre_existing.length, flaky: c.flaky.length, fixed: c.fixed.length, missing: c.missing.length },
    new_failures: c.new_failures.slice(0, max),
    missing: c.missing.slice(0, max),
    pre_existing: c.pre_existing.slice(0, max),
    flaky: c.flaky.slice(0, max),
    fixed: c.fixed.slice(0, max),
  };
}

/**
 * Marks a run's kept failures new, pre-existing or flaky against the comparison, and
 * returns them all, new ones first (what the agent must act on).
 */
export async function markRunFailures(stateDirPath: string, runId: string, comparison: Comparison): Promise<RunFailure[] | null> {
  const page = await readRunFailures(stateDirPath, runId, 0, Number.MAX_SAFE_INTEGER);
  if (!page) return null;
  const marks = failureMarks(comparison);
  const order: Record<FailureMark, number> = { new: 0, flaky: 1, pre_existing: 2 };
  const marked = page.failures.map((f) => {
    const mark = marks.get(f.id) ?? f.mark;
    return mark ? { ...f, mark } : f;
  });
  const sorted = marked.map((f, i) => ({ f, i })).sort((a, b) => (order[a.f.mark ?? 'new'] - order[b.f.mark ?? 'new']) || a.i - b.i).map((x) => x.f);
  await writeRunFailures(stateDirPath, { run_id: runId, tree: page.tree, base: { run_id: comparison.base_run, tree: comparison.base.tree, commit: comparison.base.commit, branch: comparison.base.branch }, failures: sorted });
  return sorted;
}

/** A comparison as a pull request shows it: counts, and bounded lists of test ids. */
export function comparisonMarkdown(c: Comparison, max = 15): string {
  const list = (title: string, ids: readonly string[]) => {
    if (ids.length === 0) return [];
    const shown = ids.slice(0, max).map((id) => `- \`${id.replace(/`/g, "'").replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 200)}\``);
    return [`**${title}** (${ids.length})`, '', ...shown, ...(ids.length > max ? [`- … and ${ids.length - max} more`] : []), ''];
  };
  return [
    `Tests against the base (\`${c.base.branch}\` at \`${c.base.commit.slice(0, 12)}\`, run ${c.base_run}; this tree's run ${c.branch_run}): ${c.new_failures.length} new failure(s), ${c.fixed.length} fixed, ${c.pre_existing.length} pre-existing, ${c.flaky.length} flaky${c.missing.length ? `, ${c.missing.length} no longer run` : ''}.`,
    '',
    ...list('New failures', c.new_failures),
    ...list('Passed on the base, no longer run here', c.missing),
    ...list('Fixed', c.fixed),
    ...list('Pre-existing failures (fail on the base too)', c.pre_existing),
    ...list('Flaky (failed, then passed when rerun alone)', c.flaky),
  ]
    .join('\n')
    .trimEnd();
}
