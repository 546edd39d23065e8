import { z } from 'zod';

/** The input and output schemas run_typecheck and run_tests share (their runs live in handlers/_checks.ts). */

export const waitInputShape = {
  wait_s: z
    .number()
    .int()
    .min(1)
    .max(3600)
    .optional()
    .describe(
      'Return after this many seconds if the check is still running (for clients whose tool calls time out, e.g. Codex at 60 s): the result is then ok false with not_ok_reason "still running…" and output_uri selfscope://runs/{id}, which shows the run\'s status and, once it ends, its result. The run goes on and is recorded as any run. Default: wait for the end.',
    ),
};

const failure = z.object({
  file: z.string().nullable(),
  name: z.string(),
  message: z.string(),
  expected: z.string().optional(),
  actual: z.string().optional(),
  location: z.string().optional().describe('file:line[:column], from the report or the stack'),
  line: z.number().optional(),
  id: z.string().describe('file and full name: the test across runs'),
  mark: z.enum(['new', 'pre_existing', 'flaky']).optional().describe('against the base run, when one is known: new (passed on the base, or the branch adds it), pre_existing (fails on the base too), flaky (passed when rerun alone)'),
});

export const comparisonSchema = z
  .object({
    base_branch: z.string(),
    base_commit: z.string(),
    base_tree: z.string(),
    base_run: z.string(),
    branch_run: z.string(),
    counts: z.object({ new: z.number(), pre_existing: z.number(), flaky: z.number(), fixed: z.number(), missing: z.number() }),
    new_failures: z.array(z.string()),
    missing: z.array(z.string()).describe('passed on the base, did not run here (removed, skipped, or a file that no longer loads): blocks git_commit unless a person approves the tree'),
    pre_existing: z.array(z.string()),
    flaky: z.array(z.string()),
    fixed: z.array(z.string()),
  })
  .describe('this run against the full run of the base (the merge-base with the default branch); lists at most 20 each, counts are whole');

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
  failures: z.array(failure).describe('new failures first when a base run is known'),
  failures_total: z.number(),
  failures_uri: z.string().nullable().describe('every failure as JSON, paged (?offset=N)'),
  flaky: z.array(failure),
  outcomes_recorded: z.boolean().describe('every test\'s outcome recorded for the commit gate (a full run with a report)'),
  gate: z.enum(['strict', 'no_new_failures']).describe('checks.gate: what git_commit needs of the tests'),
  comparison: comparisonSchema.nullable(),
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
  ...waitInputShape,
};
