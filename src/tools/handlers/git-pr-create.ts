import { createPullRequest } from '../../core/github/pull-request.js';
import { toolWorktree } from '../../server/engines.js';
import { audited } from './_git.js';
import type { ToolHandler } from '../define-tool.js';
import type { inputSchema, outputSchema } from '../git-pr-create.js';

export const handler: ToolHandler<typeof inputSchema, typeof outputSchema> = async (input, ctx) => {
  const worktree = await toolWorktree(ctx.app, input.worktree);
  const { title, summary, anomaly_id, figures, queries, base } = input;
  const result = await audited(
    ctx,
    'git_pr_create',
    { worktree, title, anomaly_id },
    () =>
      createPullRequest({
        worktree,
        config: ctx.app.config,
        title,
        evidence: { ...(anomaly_id ? { anomaly_id } : {}), ...(summary ? { summary } : {}), ...(figures ? { figures } : {}), ...(queries ? { queries } : {}) },
        ...(base ? { base } : {}),
      }),
    (r) => (r.kind === 'github' ? `${r.updated ? 'updated' : 'opened'} #${r.number}` : 'local proposal'),
  );
  const text =
    result.kind === 'github'
      ? `${result.updated ? 'Updated' : 'Opened'} pull request #${result.number}: ${result.url}\nMerging needs a human.`
      : `Wrote a local proposal for a human in ${result.proposal_dir} (nothing pushed: ${result.local_reason}).`;
  return { structured: result, text };
};

