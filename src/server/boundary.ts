import { randomBytes } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { isSelfscopeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/**
 * The one error boundary. A typed error becomes an `isError` result whose text says what
 * went wrong and what to do next; anything else gets a short id, and its stack goes to
 * stderr only — never to the client.
 */
export function errorToToolResult(error: unknown, toolName: string, logger: Logger): CallToolResult {
  if (isSelfscopeError(error)) {
    const text = error.hint ? `${error.message}\nWhat to do: ${error.hint}` : error.message;
    return {
      isError: true,
      content: [{ type: 'text', text }],
      structuredContent: undefined,
      _meta: { 'selfscope/error': { code: error.code, ...(error.details ? { details: error.details } : {}) } },
    };
  }
  const id = randomBytes(4).toString('hex');
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`[selfscope] unexpected error ${id} in ${toolName}: ${stack}\n`);
  logger.log('error', `unexpected error ${id} in ${toolName}`);
  return {
    isError: true,
    content: [
      {
        type: 'text',
        text: `selfscope hit an unexpected error (id ${id}) in ${toolName}. Nothing was changed by the failed step. Try again; if it repeats, report the id — the server's stderr has the details.`,
      },
    ],
  };
}

/** The message of an unexpected error for a resource read or prompt, with the same rules. */
export function errorToMessage(error: unknown, where: string): string {
  if (isSelfscopeError(error)) return error.hint ? `${error.message} What to do: ${error.hint}` : error.message;
  const id = randomBytes(4).toString('hex');
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`[selfscope] unexpected error ${id} in ${where}: ${stack}\n`);
  return `selfscope hit an unexpected error (id ${id}) in ${where}; the server's stderr has the details.`;
}
