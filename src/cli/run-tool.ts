import type { AppContext } from '../server/app-context.js';
import type { AnyToolDefinition } from '../tools/define-tool.js';
import { egressToolResult, type EgressToolResult } from '../server/boundary.js';
import { z } from 'zod';
import { UserInputError } from '../core/errors.js';
import { ensureAppStateDir } from '../server/engines.js';

/**
 * Runs a tool's handler in this process, for CLI commands that show a person the same
 * result an agent gets: input validated by the tool's own schema, no MCP in between, and
 * the result through the same egress gate (a terminal is as easy to fool as a model).
 */
export async function runToolInProcess(app: AppContext, tool: AnyToolDefinition, input: Record<string, unknown>, signal?: AbortSignal): Promise<EgressToolResult> {
  const parsed = z.object(tool.inputSchema).safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new UserInputError(`Invalid option${first?.path.length ? ` ${first.path.join('.')}` : ''}: ${first?.message ?? 'invalid input'}.`, {
      hint: `See selfscope --help for the options of this command.`,
    });
  }
  const controller = new AbortController();
  signal?.addEventListener('abort', () => controller.abort());
  // As over MCP: the state directory exists before a tool runs (it may write there).
  await ensureAppStateDir(app);
  const result = await tool.handler(parsed.data, {
    app,
    signal: controller.signal,
    logger: app.logger,
    sessionId: undefined,
    progress: async () => {},
    elicit: async () => null,
  });
  const out = egressToolResult(tool, result, app.config.limits);
  if (!out.ok) throw out.error;
  return out.value;
}
