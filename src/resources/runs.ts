import { defineResourceTemplate } from './define-resource.js';

export const runOutput = defineResourceTemplate({
  name: 'run_output',
  toolset: 'checks',
  uriTemplate: 'selfscope://runs/{id}',
  title: 'Output of a check run',
  description: 'The full output of one run_typecheck or run_tests run, 32 KB a page: add ?offset=N for the next page. A run still going (a call with wait_s returned first) shows "status running"; once it ends, "status finished" with its result, then the output. With ?view=failures: every failure of a test run as JSON (file, line, message, expected/actual, and new/pre_existing/flaky against the base run when one is known), 10 a page (&offset=N). Untrusted text.',
  mimeType: 'text/plain',
  load: () => import('./handlers/runs.js').then((m) => m.runOutput),
});
