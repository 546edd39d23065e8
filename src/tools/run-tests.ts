import { z } from 'zod';
import { defineTool } from './define-tool.js';
import { checkInputShape, checkOutputSchema } from './_check-schemas.js';

export const inputSchema = {
  ...checkInputShape,
  files: z.array(z.string().max(500)).max(50).optional().describe('Test files or directories to run, as existing paths relative to the worktree and inside it (a subset; not recorded as a full pass of the tree).'),
  name_pattern: z.string().max(300).optional().describe("Only tests whose name matches (the value of the runner's name-pattern flag)."),
  rerun_failed: z.boolean().optional().describe('Rerun each failing test once alone; those that then pass are reported as flaky.'),
};

export const outputSchema = checkOutputSchema;

export default defineTool({
  name: 'run_tests',
  toolset: 'checks',
  title: 'Run the tests',
  description:
    "Runs the target repository's own tests (configured command, else its package.json \"test\" script with its package manager) in a worktree, and records the result against the exact tree. A run passes only by the report of the runner it calls (vitest, jest, node --test, bun test): at least one executed test and no failure; the exit status alone proves nothing, and a command whose runner selfscope cannot find never passes. Failures are ok: false with names and messages. files (paths inside the worktree) and name_pattern run a subset, never recorded as a pass; rerun_failed reports flaky tests.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  longRunning: true,
  load: () => import('./handlers/run-tests.js'),
});
