import { z } from 'zod';
import type { CheckResult } from '../core/checks/check-runner.js';
import type { ToolContext } from './define-tool.js';
import { getCheckRunner, toolWorktree } from '../server/engines.js';
import type { CheckName } from '../core/checks/attestation.js';
import { humanDuration } from '../core/text/durations.js';
import { fitItems, jsonBytes, structuredBudget } from './_shared.js';

/** What run_typecheck and run_tests share: the result schema, the run, the rendering. */

const failure = z.object({
  file: z.string().nullable(),
  name: z.string(),
  message: z.string(),
  expected: z.string().optional(),
  actual: z.string().optional(),
  location: z.string().optional(),
});

export const checkOutputSchema = {
  id: z.string(),
  check: z.enum(['typecheck', 'test']),
  ok: z.boolean(),
  not_ok_reason: z.string().nullable(),
  exit_code: z.number().nullable(),
  duration_ms: z.number(),
  command: z.array(z.string()),
  reason: z.string().describe('why this command was chosen'),
  counts: z.object({ passed: z.number(), failed: z.number(), skipped: z.number(), total: z.number() }).nullable(),
  failures: z.array(failure),
  flaky: z.array(failure),
  diagnostics: z.array(z.object({ file: z.string(), line: z.number(), column: z.number(), code: z.string(), message: z.string() })),
  tree: z.string().describe('identity of the exact working tree the check ran on'),
  tree_changed: z.boolean(),
  recorded: z.boolean(),
  timed_out: z.boolean(),
  cancelled: z.boolean(),
  worktree: z.string(),
  output_tail: z.string().describe('last part of the output (untrusted)'),
  output_bytes: z.number(),
  output_dropped_bytes: z.number(),
  output_uri: z.string().describe('full output, paged'),
  sandbox: z.enum(['bwrap', 'off', 'unavailable']).describe('bwrap: ran sandboxed; off: sandbox disabled by configuration; unavailable: bwrap could not start, so the run never counts for git_commit'),
  sandbox_reason: z.string().nullable(),
  truncated_reason: z.string().nullable().describe('Failures or diagnostics left out to fit limits.resultBytes (or over the 30 failures listed), and where they are; null when every one is listed'),
};

export const checkInputShape = {
  worktree: z.string().max(4096).optional().describe("Default: this session's worktree, else the repository root."),
  timeout_s: z.number().int().min(1).max(7200).optional().describe('Default 600 (checks.timeoutS), capped by checks.maxTimeoutS.'),
};

type CheckToolResult = CheckResult & { worktree: string; truncated_reason: string | null };

export async function runCheckTool(check: CheckName, input: { worktree?: string | undefined; timeout_s?: number | undefined; files?: string[] | undefined; name_pattern?: string | undefined; rerun_failed?: boolean | undefined }, ctx: ToolContext): Promise<{ structured: CheckToolResult; text: string }> {
  const worktree = await toolWorktree(ctx.app, input.worktree);
  const runner = await getCheckRunner(ctx.app);
  await ctx.progress(0, undefined, `${check} starting in ${worktree}`);
  const result = await runner.run({
    worktree,
    check,
    ...(input.timeout_s !== undefined ? { timeoutS: input.timeout_s } : {}),
    ...(input.files ? { files: input.files } : {}),
    ...(input.name_pattern ? { namePattern: input.name_pattern } : {}),
    ...(input.rerun_failed ? { rerunFailed: true } : {}),
    signal: ctx.signal,
    onProgress: (ms, message) => void ctx.progress(Math.round(ms / 1000), undefined, `${message}: ${humanDuration(Math.round(ms / 1000) * 1000)}`),
  });
  const structured = fitCheck({ ...result, worktree }, ctx.app.config.limits.resultBytes);
  return { structured, text: renderCheck(structured) };
}

// Core lists at most this many diagnostics: a full list may mean there were more.
const DIAGNOSTICS_LISTED = 60;

/**
 * Keeps the lists (failures, then flaky tests, then diagnostics) to what fits in the
 * structured budget, and says what was left out and where it is: the whole output is at
 * output_uri, and a subset run lists its own failures.
 */
function fitCheck(r: CheckResult & { worktree: string }, resultBytes: number): CheckToolResult {
  const { failures, flaky, diagnostics, ...rest } = r;
  let room = structuredBudget(resultBytes, 1024 + jsonBytes(rest));
  const take = <T>(items: readonly T[]): T[] => {
    const kept = fitItems(items, room);
    room -= jsonBytes(kept);
    return kept;
  };
  const shown = { failures: take(failures), flaky: take(flaky), diagnostics: take(diagnostics) };
  const failed = Math.max(r.counts?.failed ?? 0, failures.length);
  const reasons = [
    shown.failures.length < failed ? `failures: ${shown.failures.length} of ${failed} listed` : null,
    shown.flaky.length < flaky.length ? `flaky: ${shown.flaky.length} of ${flaky.length} listed` : null,
    shown.diagnostics.length < diagnostics.length || diagnostics.length >= DIAGNOSTICS_LISTED ? `diagnostics: ${shown.diagnostics.length} of ${diagnostics.length >= DIAGNOSTICS_LISTED ? 'at least ' : ''}${diagnostics.length} listed` : null,
  ].filter((x): x is string => x !== null);
  const more = r.check === 'test' ? 'the rest: read output_uri (paged), or run a subset with files or name_pattern' : 'the rest: read output_uri (paged)';
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
  for (const f of r.failures.slice(0, 10)) lines.push(`FAIL ${f.file ?? ''} › ${f.name}\n  ${f.message.split('\n').slice(0, 4).join('\n  ')}`);
  for (const f of r.flaky) lines.push(`FLAKY (passed on rerun) ${f.file ?? ''} › ${f.name}`);
  for (const d of r.diagnostics.slice(0, 20)) lines.push(`${d.file}:${d.line}:${d.column} ${d.code} ${d.message}`);
  if (r.truncated_reason) lines.push(`cut: ${r.truncated_reason}`);
  if (r.ok && r.recorded) lines.push(r.check === 'test' ? 'Recorded: tests passed on this tree.' : 'Recorded: typecheck passed on this tree.');
  if (r.ok && !r.recorded) lines.push('A subset passed; only a full run is recorded for git_commit.');
  lines.push(`full output: ${r.output_uri} (${r.output_bytes} bytes${r.output_dropped_bytes ? `, ${r.output_dropped_bytes} dropped over the cap` : ''})`);
  if (!r.ok && r.failures.length === 0 && r.diagnostics.length === 0) lines.push(`----- output tail (untrusted) -----\n${r.output_tail.slice(-1500)}\n-----`);
  return lines.join('\n');
}
