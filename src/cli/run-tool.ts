import type { AppContext } from '../server/app-context.js';
import type { AnyToolDefinition, ToolResult } from '../tools/define-tool.js';
import { z } from 'zod';
import { UserInputError } from '../core/errors.js';

/**
 * Runs a tool's handler in this process, for CLI commands that show a person the same
 * result an agent gets: input validated by the tool's own schema, no MCP in between.
 */
export async function runToolInProcess(app: AppContext, tool: AnyToolDefinition, input: Record<string, unknown>, signal?: AbortSignal): Promise<ToolResult<Record<string, unknown>>> {
  const parsed = z.object(tool.inputSchema).safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new UserInputError(`Invalid option${first?.path.length ? ` ${first.path.join('.')}` : ''}: ${first?.message ?? 'invalid input'}.`, {
      hint: `See selfscope --help for the options of this command.`,
    });
  }
  const controller = new AbortController();
  signal?.addEventListener('abort', () => controller.abort());
  return tool.handler(parsed.data, {
    app,
    signal: controller.signal,
    logger: app.logger,
    sessionId: undefined,
    progress: async () => {},
    elicit: async () => null,
  }) as Promise<ToolResult<Record<string, unknown>>>;
}
