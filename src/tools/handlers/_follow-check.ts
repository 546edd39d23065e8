import { z } from 'zod';
import type { CheckName } from '../../core/checks/attestation.js';
import { newRunId } from '../../core/checks/check-runner.js';
import { humanDuration } from '../../core/text/durations.js';
import { getBackgroundRuns } from '../../server/background-runs.js';
import { getCheckRunner } from '../../server/engines.js';
import type { ToolContext } from '../define-tool.js';

/**
 * run_typecheck and run_tests as runs the server follows: every run is registered under
 * its id (so `selfscope://runs/{id}` shows it running, then finished), cancelling the call
 * stops it, and with `wait_s` a call returns once that many seconds have passed while the
 * run goes on: for clients whose tool calls time out before a long run ends.
 */


type CheckTool<I, S> = (check: CheckName, input: I & { run_id?: string }, ctx: ToolContext) => Promise<{ structured: S; text: string }>;

export async function followCheck<I extends { wait_s?: number | undefined; worktree?: string | undefined }, S extends { ok: boolean }>(
  check: CheckName,
  input: I,
  ctx: ToolContext,
  run: CheckTool<I, S>,
  outputSchema: z.ZodRawShape,
): Promise<{ structured: S; text: string }> {
  const runs = await getBackgroundRuns(ctx.app);
  const id = newRunId();
  const startedAt = Date.now();
  // After an early return the call is over: its progress token and its cancellation with it.
  let detached = false;
  const done = runs.start(
    id,
    check,
    input.worktree ?? '',
    (signal) =>
      run(check, { ...input, run_id: id }, {
        ...ctx,
        signal,
        progress: (progress, total, message) => (detached ? Promise.resolve() : ctx.progress(progress, total, message)),
      }),
    (result) => ({ ok: result.structured.ok, summary: result.text }),
  );
  const cancel = () => void runs.cancel(id);
  if (ctx.signal.aborted) cancel();
  else ctx.signal.addEventListener('abort', cancel, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    if (input.wait_s === undefined) return await done;
    const early = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), input.wait_s! * 1000);
    });
    const finished = await Promise.race([done, early]);
    if (finished) return finished;
    detached = true;
    return await stillRunning(ctx, check, id, input, Date.now() - startedAt, outputSchema);
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', cancel);
  }
}

/** The result of a call that returned before its run ended: the tool's own shape, saying where to follow the run. */
async function stillRunning<S>(ctx: ToolContext, check: CheckName, id: string, input: { wait_s?: number | undefined; worktree?: string | undefined }, elapsedMs: number, outputSchema: z.ZodRawShape): Promise<{ structured: S; text: string }> {
  const uri = `selfscope://runs/${id}`;
  const reason = `still running after ${humanDuration(elapsedMs)} (wait_s ${input.wait_s}): the run goes on in the server and is recorded as any run; read ${uri} for its status and, once it ends, its result`;
  const sandbox = await (await getCheckRunner(ctx.app)).sandboxStatus();
  const known: Record<string, unknown> = {
    id,
    check,
    ok: false,
    not_ok_reason: reason,
    reason: 'still running',
    duration_ms: elapsedMs,
    output_uri: uri,
    worktree: input.worktree ?? '',
    sandbox: sandbox.mode === 'off' ? 'off' : sandbox.available ? 'bwrap' : 'unavailable',
    sandbox_reason: sandbox.reason,
    gate: ctx.app.config.checks.gate,
  };
  const structured: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(outputSchema)) {
    if (key in known) structured[key] = known[key];
    else if (!(schema instanceof z.ZodOptional)) structured[key] = blank(schema as z.ZodType);
  }
  const text = `${check} RUNNING — ${reason}`;
  return { structured: structured as S, text };
}

/** The emptiest value a schema accepts: null, false, 0, "", [], an enum's first value, an object of blanks. */
function blank(schema: z.ZodType): unknown {
  if (schema instanceof z.ZodNullable) return null;
  if (schema instanceof z.ZodDefault) return blank(schema.unwrap() as z.ZodType);
  if (schema instanceof z.ZodBoolean) return false;
  if (schema instanceof z.ZodNumber) return 0;
  if (schema instanceof z.ZodString) return '';
  if (schema instanceof z.ZodArray) return [];
  if (schema instanceof z.ZodEnum) return schema.options[0];
  if (schema instanceof z.ZodObject) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(schema.shape as Record<string, z.ZodType>)) if (!(inner instanceof z.ZodOptional)) out[key] = blank(inner);
    return out;
  }
  return null;
}
