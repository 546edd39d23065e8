import { z } from 'zod';
import { defineTool } from './define-tool.js';
import { checkInputShape, checkOutputSchema, runCheckTool } from './_checks.js';

export default defineTool({
  name: 'run_tests',
  toolset: 'checks',
  title: 'Run the tests',
  description:
    "Runs the target repository's own tests (configured command, else its package.json \"test\" script with its package manager) in a worktree, parses results (vitest, jest, node --test, bun), and records them against the exact tree. Failures are ok: false with names and messages; zero executed or all skipped is not a pass. files and name_pattern run a subset; rerun_failed reports flaky tests.",
  inputSchema: {
    ...checkInputShape,
    files: z.array(z.string().max(500)).max(50).optional().describe('Test files to run (a subset; not recorded as a full pass of the tree).'),
    name_pattern: z.string().max(300).optional().describe('Only tests whose name matches.'),
    rerun_failed: z.boolean().optional().describe('Rerun each failing test once alone; those that then pass are reported as flaky.'),
  },
  outputSchema: checkOutputSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (input, ctx) => runCheckTool('test', input, ctx),
});
