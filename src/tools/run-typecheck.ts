import { defineTool } from './define-tool.js';
import { checkInputShape, checkOutputSchema } from './_check-schemas.js';

export const inputSchema = { ...checkInputShape };

export const outputSchema = checkOutputSchema;

export default defineTool({
  name: 'run_typecheck',
  toolset: 'checks',
  title: 'Run the typecheck',
  description:
    "Runs the target repository's own typecheck (configured command, else its package.json \"typecheck\" script with its package manager, else tsc --noEmit) in a worktree, and records the result against the exact tree. A failed typecheck is ok: false with parsed diagnostics; git_commit needs typecheck and tests passed on the tree it commits.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  longRunning: true,
  load: () => import('./handlers/run-typecheck.js'),
});
