import { defineTool } from './define-tool.js';
import { checkInputShape, checkOutputSchema, runCheckTool } from './_checks.js';
import { followCheck } from './_follow-check.js';

export default defineTool({
  name: 'run_typecheck',
  toolset: 'checks',
  title: 'Run the typecheck',
  description:
    "Runs the target repository's own typecheck (configured command, else its package.json \"typecheck\" script with its package manager, else tsc --noEmit) in a worktree, and records the result against the exact tree. A failed typecheck is ok: false with parsed diagnostics; git_commit needs typecheck and tests passed on the tree it commits.",
  inputSchema: { ...checkInputShape },
  outputSchema: checkOutputSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  longRunning: true,
  handler: (input, ctx) => followCheck('typecheck', input, ctx, runCheckTool, checkOutputSchema),
});
