import type { CheckResult } from '../../core/checks/check-runner.js';
import type { ToolContext } from '../define-tool.js';
import { getCheckRunner, toolWorktree } from '../../server/engines.js';
import { type CheckName, getVerificationRun } from '../../core/checks/attestation.js';
import { humanDuration } from '../../core/text/durations.js';
import { fitItems, jsonBytes, structuredBudget } from './_shared.js';
import { comparisonSummary, ensureBaseOutcomes, findBase, markRunFailures, recordedComparison, type BaseOutcomes, type BaseRef, type Comparison } from '../../core/checks/gate.js';
import { latestComparableRun } from '../../core/checks/test-outcomes.js';
import { sandboxedStepRunner } from '../../core/worktree/setup-steps.js';

/** What run_typecheck and run_tests share: the run and its rendering (their schemas: _check-schemas.ts). */

type CheckToolResult = CheckResult & { worktree: string; truncated_reason: string | null; gate: 'strict' | 'no_new_failures'; comparison: ReturnType<typeof comparisonSummary> | null };

/**
 * The base run a full test run is compared with: recorded, else (with checks.gate
 * "no_new_failures") run now in a temporary worktree through the same runner.
 */
export async function baseOutcomesFor(ctx: ToolContext, base: BaseRef, run: boolean, timeoutS?: number): Promise<BaseOutcomes | null> {
  const known = await latestComparableRun(ctx.app.config.privateDirPath, base.tree);
  if (known) return { ...known, reused: true };
  if (!run) return null;
  await ctx.progress(0, undefined, `running the base's tests (${base.branch} at ${base.commit.slice(0, 12)}) for checks.gate "no_new_failures"`);
  const { config } = ctx.app;
  return ensureBaseOutcomes({
    privateDirPath: config.privateDirPath,
    stateDirPath: config.stateDirPath,
    repo: config.repo,
    base,
    runner: await getCheckRunner(ctx.app),
    // Made ready as git_branch_create makes a branch's worktree, so both sides run alike.
    prepare: { dir: config.worktree.dir, copy: config.worktree.copy, setup: config.worktree.setup, setupTimeoutS: config.worktree.setupTimeoutS, runStep: sandboxedStepRunner({ checks: config.checks, repo: config.repo, stateDirPath: config.stateDirPath, privateDirPath: config.privateDirPath }) },
    ...(timeoutS !== undefined ? { timeoutS } : {}),
    signal: ctx.signal,
  });
}

export async function runCheckTool(check: CheckName, input: { worktree?: string | undefined; timeout_s?: number | undefined; files?: string[] | undefined; name_pattern?: string | undefined; rerun_failed?: boolean | undefined; run_id?: string | undefined }, ctx: ToolContext): Promise<{ structured: CheckToolResult; text: string }> {
  const worktree = await toolWorktree(ctx.app, input.worktree);
  const runner = await getCheckRunner(ctx.app);
  await ctx.progress(0, undefined, `${check} starting in ${worktree}`);
  const gate = ctx.app.config.checks.gate;
  const full = check === 'test' && !(input.files && input.files.length > 0) && input.name_pattern === undefined;
  // No new failures: the base's run comes first, so its failures need no rerun here.
  const base = full ? await findBase(worktree, ctx.app.config.git).catch(() => null) : null;
  const baseOutcomes = base ? await baseOutcomesFor(ctx, base, gate === 'no_new_failures', input.timeout_s) : null;
  const rerun = input.rerun_failed ?? (gate === 'no_new_failures' && full);
  const result = await runner.run({
    worktree,
    check,
    ...(input.timeout_s !== undefined ? { timeoutS: input.timeout_s } : {}),
    ...(input.files ? { files: input.files } : {}),
    ...(input.name_pattern ? { namePattern: input.name_pattern } : {}),
    ...(rerun ? { rerunFailed: true } : {}),
    ...(input.run_id ? { id: input.run_id } : {}),
    ...(baseOutcomes && 'outcomes' in baseOutcomes
      ? { rerunSkip: new Set(baseOutcomes.outcomes.outcomes.filter(([, s]) => s === 'failed').map(([id]) => id)), expectPassing: new Set(baseOutcomes.outcomes.outcomes.filter(([, s]) => s === 'passed').map(([id]) => id)) }
      : {}),
    signal: ctx.signal,
    onProgress: (ms, message) => void ctx.progress(Math.round(ms / 1000), undefined, `${message}: ${humanDuration(Math.round(ms / 1000) * 1000)}`),
  });
  let comparison: Comparison | null = null;
  if (full && result.outcomes_recorded && base && baseOutcomes && 'outcomes' in baseOutcomes) {
    const own = await getVerificationRun(ctx.app.config.privateDirPath, result.id);
    comparison = await recordedComparison(ctx.app.config.privateDirPath, worktree, result.tree, ctx.app.config.git, own, base).catch(() => null);
  }
  let failures = result.failures;
  if (comparison) {
    const marked = await markRunFailures(ctx.app.config.stateDirPath, result.id, comparison).catch(() => null);
    if (marked) failures = marked.slice(0, result.failures.length);
  }
  const structured = fitCheck({ ...result, failures, worktree, gate, comparison: comparison ? comparisonSummary(comparison) : null }, ctx.app.config.limits.resultBytes);
  return { structured, text: renderCheck(structured) };
}

// Core lists at most this many diagnostics: a full list may mean there were more.
const DIAGNOSTICS_LISTED = 60;

/**
 * Keeps the lists (failures, then flaky tests, then diagnostics) to what fits in the
 * structured budget, and says what was left out and where it is: the whole output is at
 * output_uri, and a subset run lists its own failures.
 */
function fitCheck(r: CheckResult & Omit<CheckToolResult, keyof CheckResult | 'truncated_reason'>, resultBytes: number): CheckToolResult {
  const { failures, flaky, diagnostics, ...rest } = r;
  let room = structuredBudget(resultBytes, 1024 + jsonBytes(rest));
  const take = <T>(items: readonly T[]): T[] => {
    const kept = fitItems(items, room);
    room -= jsonBytes(kept);
    return kept;
  };
  const shown = { failures: take(failures), flaky: take(flaky), diagnostics: take(diagnostics) };
  const failed = Math.max(r.counts?.failed ?? 0, r.failures_total, failures.length);
  const reasons = [
    shown.failures.length < failed ? `failures: ${shown.failures.length} of ${failed} listed` : null,
    shown.flaky.length < flaky.length ? `flaky: ${shown.flaky.length} of ${flaky.length} listed` : null,
    shown.diagnostics.length < diagnostics.length || diagnostics.length >= DIAGNOSTICS_LISTED ? `diagnostics: ${shown.diagnostics.length} of ${diagnostics.length >= DIAGNOSTICS_LISTED ? 'at least ' : ''}${diagnostics.length} listed` : null,
  ].filter((x): x is string => x !== null);
  const more = r.check === 'test' ? `the rest: read ${r.failures_uri ?? 'output_uri'} (every failure as JSON, paged), or run a subset with files or name_pattern` : 'the rest: read output_uri (paged)';
  return { ...r, ...shown, truncated_reason: reasons.length ? `${reasons.join('; ')}; ${more}` : null };
}

function renderCheck(r: CheckToolResult): string {
  const lines = [
    `${r.check} ${r.ok ? 'PASSED' : 'NOT OK'}${r.not_ok_reason ? ` — ${r.not_ok_reason}` : ''} (${humanDuration(r.duration_ms)}, exit ${r.timed_out ? 'timeout' : r.exit_code})`,
    `command: ${r.command.join(' ')}  (${r.reason})`,
    `tree: ${r.tree}${r.tree_changed ? ' (changed during the run: not recorded as passed)' : ''}${r.recorded ? ', recorded' : ''}`,
    r.sandbox === 'bwrap' ? 'sandbox: bwrap' : r.sandbox === 'off' ? 'sandbox: OFF (checks.sandbox "off": test code could reach selfscope\'s private state and the network)' : `sandbox: UNAVAILABLE (${r.sandbox_reason ?? 'bwrap could not start'}): this run does not count for git_commit; install bubblewrap`,
  ];
  if (r.counts) lines.push(`tests: ${r.counts.passed} passed, ${r.counts.failed} failed, ${r.counts.skipped} skipped, ${r.counts.total} total`);
  if (r.comparison) {
    const c = r.comparison;
    lines.push(`against the base (${c.base_branch} at ${c.base_commit.slice(0, 12)}, run ${c.base_run}): ${c.counts.new} new failure(s), ${c.counts.pre_existing} pre-existing, ${c.counts.flaky} flaky, ${c.counts.fixed} fixed${c.counts.missing ? `, ${c.counts.missing} no longer run (${c.missing.slice(0, 3).join('; ')}${c.counts.missing > 3 ? '; …' : ''})` : ''}`);
  } else if (r.gate === 'no_new_failures' && r.check === 'test' && r.recorded) lines.push('no base run to compare with: git_commit will need one (checks.gate "no_new_failures")');
  for (const f of r.failures.slice(0, 10)) {
    const where = f.location ?? f.file ?? '';
    const ea = f.expected !== undefined || f.actual !== undefined ? `\n  expected: ${(f.expected ?? '?').split('\n').slice(0, 3).join(' ')}\n  actual:   ${(f.actual ?? '?').split('\n').slice(0, 3).join(' ')}` : '';
    lines.push(`FAIL${f.mark ? ` [${f.mark}]` : ''} ${where} › ${f.name}\n  ${f.message.split('\n').slice(0, 4).join('\n  ')}${ea}`);
  }
  for (const f of r.flaky.slice(0, 10)) lines.push(`FLAKY (passed on rerun) ${f.file ?? ''} › ${f.name}`);
  if (r.flaky.length > 10) lines.push(`… and ${r.flaky.length - 10} more flaky (structuredContent.flaky)`);
  for (const d of r.diagnostics.slice(0, 20)) lines.push(`${d.file}:${d.line}:${d.column} ${d.code} ${d.message}`);
  if (r.truncated_reason) lines.push(`cut: ${r.truncated_reason}`);
  if (r.ok && r.recorded) lines.push(r.check === 'test' ? 'Recorded: tests passed on this tree.' : 'Recorded: typecheck passed on this tree.');
  if (!r.ok && r.comparison && r.gate === 'no_new_failures') lines.push(r.comparison.counts.new === 0 && r.comparison.counts.missing === 0 ? 'No new failures: git_commit accepts this tree once typecheck passed on it (checks.gate "no_new_failures").' : `git_commit refuses this tree until the ${r.comparison.counts.new} new failure(s) pass${r.comparison.counts.missing ? ` and the ${r.comparison.counts.missing} test(s) of the base that no longer run are back` : ''}.`);
  if (r.failures_total > r.failures.length && r.failures_uri) lines.push(`all ${r.failures_total} failures: ${r.failures_uri}`);
  if (r.ok && !r.recorded) lines.push('A subset passed; only a full run is recorded for git_commit.');
  lines.push(`full output: ${r.output_uri} (${r.output_bytes} bytes${r.output_dropped_bytes ? `, ${r.output_dropped_bytes} dropped over the cap` : ''})`);
  if (!r.ok && r.failures.length === 0 && r.diagnostics.length === 0) lines.push(`----- output tail (untrusted) -----\n${r.output_tail.slice(-1500)}\n-----`);
  return lines.join('\n');
}
