import { mergePullRequest } from '../../core/github/merge.js';
import { audited } from './_git.js';
import type { ToolHandler } from '../define-tool.js';
import type { inputSchema, outputSchema } from '../git-pr-merge.js';

export const handler: ToolHandler<typeof inputSchema, typeof outputSchema> = async (input, ctx) => {
  // No approval comes from this call: neither an argument nor the client's elicitation.
  const result = await audited(
    ctx,
    'git_pr_merge',
    input,
    () => mergePullRequest({ repo: ctx.app.config.repo, config: ctx.app.config, number: input.number, method: input.method, caller: 'git_pr_merge' }),
    (r) => (r.merged ? 'merged' : `refused: ${r.status}`),
  );
  return { structured: result, text: result.merged ? `Merged #${result.number} (${result.sha.slice(0, 10)}), approved by ${result.approved_by} (${result.approved_via}).` : `Not merged (${result.status}): ${result.what_to_do}` };
};

