import { z } from 'zod';
import type { CheckResult } from '../core/checks/check-runner.js';
import type { ToolContext } from './define-tool.js';
import { getCheckRunner, toolWorktree } from '../server/engines.js';
import type { CheckName } from '../core/checks/attestation.js';

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
};

export const checkInputShape = {
  worktree: z.string().max(4096).optional().describe("Default: this session's worktree, else the repository root."),
  timeout_s: z.number().int().min(1).max(7200).optional().describe('Default 600 (checks.timeoutS), capped by checks.maxTimeoutS.'),
};

export async function runCheckTool(check: CheckName, input: { worktree?: string | undefined; timeout_s?: number | undefined; files?: string[] | undefined; name_pattern?: string | undefined; rerun_failed?: boolean | undefined }, ctx: ToolContext): Promise<{ structured: CheckResult & { worktree: string }; text: string }> {
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
    onProgress: (ms, message) => void ctx.progress(Math.round(ms / 1000), undefined, `${message}: ${Math.round(ms / 1000)} s`),
  });
  const structured = { ...result, worktree };
  return { structured, text: renderCheck(structured) };
}

function renderCheck(r: CheckResult & { worktree: string }): string {
  const lines = [
    `${r.check} ${r.ok ? 'PASSED' : 'NOT OK'}${r.not_ok_reason ? ` — ${r.not_ok_reason}` : ''} (${(r.duration_ms / 1000).toFixed(1)} s, exit ${r.timed_out ? 'timeout' : r.exit_code})`,
    `command: ${r.command.join(' ')}  (${r.reason})`,
    `tree: ${r.tree}${r.tree_changed ? ' (changed during the run: not recorded as passed)' : ''}${r.recorded ? ', recorded' : ''}`,
    r.sandbox === 'bwrap' ? 'sandbox: bwrap' : r.sandbox === 'off' ? 'sandbox: OFF (checks.sandbox "off": test code could reach selfscope\'s private state and the network)' : `sandbox: UNAVAILABLE (${r.sandbox_reason ?? 'bwrap could not start'}): this run does not count for git_commit; install bubblewrap`,
  ];
  if (r.counts) lines.push(`tests: ${r.counts.passed} passed, ${r.counts.failed} failed, ${r.counts.skipped} skipped, ${r.counts.total} total`);
  for (const f of r.failures.slice(0, 10)) lines.push(`FAIL ${f.file ?? ''} › ${f.name}\n  ${f.message.split('\n').slice(0, 4).join('\n  ')}`);
  for (const f of r.flaky) lines.push(`FLAKY (passed on rerun) ${f.file ?? ''} › ${f.name}`);
  for (const d of r.diagnostics.slice(0, 20)) lines.push(`${d.file}:${d.line}:${d.column} ${d.code} ${d.message}`);
  if (r.ok && r.recorded) lines.push(r.check === 'test' ? 'Recorded: tests passed on this tree.' : 'Recorded: typecheck passed on this tree.');
  if (r.ok && !r.recorded) lines.push('A subset passed; only a full run is recorded for git_commit.');
  lines.push(`full output: ${r.output_uri} (${r.output_bytes} bytes${r.output_dropped_bytes ? `, ${r.output_dropped_bytes} dropped over the cap` : ''})`);
  if (!r.ok && r.failures.length === 0 && r.diagnostics.length === 0) lines.push(`----- output tail (untrusted) -----\n${r.output_tail.slice(-1500)}\n-----`);
  return lines.join('\n');
}
