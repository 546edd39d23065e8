import { appendAudit } from '../../core/audit/audit-log.js';
import { isSelfscopeError } from '../../core/errors.js';
import type { ToolContext } from '../define-tool.js';

/**
 * Runs a mutating git action and writes its outcome (done, refused, failed) to the audit
 * log, in the bot's runtime-action schema.
 */
export async function audited<T>(ctx: ToolContext, tool: string, args: Record<string, unknown>, action: () => Promise<T>, outcomeOf: (result: T) => string = () => 'done'): Promise<T> {
  try {
    const result = await action();
    await appendAudit(ctx.app.config.privateDirPath, { kind: 'selfscope_git', event: tool, tool, outcome: outcomeOf(result), arguments: args, details: { result } });
    return result;
  } catch (error) {
    const outcome = isSelfscopeError(error) ? (error.code === 'policy' ? 'refused' : `failed: ${error.code}`) : 'failed';
    await appendAudit(ctx.app.config.privateDirPath, {
      kind: 'selfscope_git',
      event: tool,
      tool,
      outcome,
      arguments: args,
      details: { reason: error instanceof Error ? error.message.slice(0, 500) : 'unexpected' },
    }).catch(() => {});
    throw error;
  }
}

/**
 * A human-approval question through the client's elicitation, or null when it cannot ask.
 * Whoever runs the client answers, and a client can answer by itself: only a sensitive
 * commit takes this as approval, and only where git.elicitationApproves is on; merges never.
 */
export function askHumanVia(ctx: ToolContext) {
  return async (question: { message: string; files?: string[] }): Promise<{ approvedBy: string } | null> => {
    const answer = await ctx.elicit({
      message: `${question.message}${question.files ? `\nFiles: ${question.files.slice(0, 20).join(', ')}` : ''}`,
      requestedSchema: { type: 'object', properties: { approve: { type: 'boolean', title: 'Approve', description: 'Approve this change as a human' } }, required: ['approve'] },
    });
    if (answer?.action === 'accept' && answer.content['approve'] === true) return { approvedBy: `mcp-client-user${ctx.sessionId ? `:${ctx.sessionId.slice(0, 8)}` : ''}` };
    return null;
  };
}
