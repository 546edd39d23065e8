import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { InMemoryTaskStore, type CreateTaskOptions, type ToolTaskHandler } from '@modelcontextprotocol/sdk/experimental/tasks';
import type { CallToolResult, Request, RequestId, ServerNotification, ServerRequest, Task, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { ZodRawShape } from 'zod';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface TaskToolConfig {
  title: string;
  description: string;
  inputSchema: ZodRawShape;
  outputSchema: ZodRawShape;
  annotations: ToolAnnotations;
}

/**
 * MCP tasks (protocol 2025-11-25) for long-running tools: a client that supports them gets
 * a task at once, polls `tasks/get`, fetches the result with `tasks/result`, and stops the
 * work with `tasks/cancel`. A client that does not gets the plain result when the work ends,
 * as for any tool. One store per session's server: a task is seen only by its session.
 */

// How long a finished task's result is kept when the client asks for no ttl, and at most.
const DEFAULT_TTL_MS = 60 * 60 * 1000;
const MAX_TTL_MS = 24 * 60 * 60 * 1000;
const POLL_INTERVAL_MS = 2000;

/** The SDK's in-memory store, which also knows which tasks a client asked for and stops a task's work when it is cancelled. */
export class ToolTaskStore extends InMemoryTaskStore {
  private readonly requested = new Set<string>();
  private readonly controllers = new Map<string, AbortController>();

  override async createTask(taskParams: CreateTaskOptions, requestId: RequestId, request: Request, sessionId?: string): Promise<Task> {
    const task = await super.createTask(taskParams, requestId, request, sessionId);
    // The SDK also makes a task for a plain call of a task tool, to wait on it: only a `task` parameter means the client polls.
    const params = request.params as { task?: unknown } | undefined;
    if (params?.task !== undefined) this.requested.add(task.taskId);
    return task;
  }

  override async updateTaskStatus(taskId: string, status: Task['status'], statusMessage?: string, sessionId?: string): Promise<void> {
    await super.updateTaskStatus(taskId, status, statusMessage, sessionId);
    if (status === 'cancelled') this.controllers.get(taskId)?.abort();
  }

  /** Whether the client asked for this task (else the call waits for the result itself). */
  requestedByClient(taskId: string): boolean {
    return this.requested.has(taskId);
  }

  track(taskId: string, controller: AbortController): void {
    this.controllers.set(taskId, controller);
  }

  untrack(taskId: string): void {
    this.controllers.delete(taskId);
    this.requested.delete(taskId);
  }

  /** Stops every task's work and drops the stored results (the session ended). */
  close(): void {
    for (const controller of this.controllers.values()) controller.abort();
    this.controllers.clear();
    this.cleanup();
  }
}

/**
 * Registers `call` (the tool's ordinary handler, boundary included) as a task tool. The work
 * runs under its own abort signal, tied to the request (a plain call cancelled, or the
 * connection closed) and to `tasks/cancel`.
 */
export function registerTaskTool(server: McpServer, store: ToolTaskStore, name: string, config: TaskToolConfig, call: (input: unknown, extra: Extra) => Promise<CallToolResult>): void {
  const handler: ToolTaskHandler<Record<string, never>> = {
    createTask: async (input, extra) => {
      const requestedTtl = extra.taskRequestedTtl;
      const ttl = Math.min(typeof requestedTtl === 'number' && requestedTtl > 0 ? requestedTtl : DEFAULT_TTL_MS, MAX_TTL_MS);
      const task = await extra.taskStore.createTask({ ttl, pollInterval: POLL_INTERVAL_MS });
      const controller = new AbortController();
      store.track(task.taskId, controller);
      const stop = () => controller.abort();
      if (extra.signal.aborted) stop();
      else extra.signal.addEventListener('abort', stop, { once: true });
      const work = call(input, { ...extra, signal: controller.signal })
        // `call` answers through the error boundary; anything thrown past it stays on stderr, as there.
        .catch((error: unknown): CallToolResult => {
          process.stderr.write(`selfscope: ${name} task ${task.taskId} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
          return { content: [{ type: 'text', text: `${name} failed unexpectedly (task ${task.taskId}); the server's stderr has the details.` }], isError: true };
        })
        // For a tool call, a result with isError is a failed task (its result is still what tasks/result returns).
        .then((result) => extra.taskStore.storeTaskResult(task.taskId, result.isError ? 'failed' : 'completed', result))
        // A cancelled task takes no result.
        .catch(() => {})
        .finally(() => {
          store.untrack(task.taskId);
          extra.signal.removeEventListener('abort', stop);
        });
      if (store.requestedByClient(task.taskId)) return { task };
      // A plain call: answer when the work is done, so the SDK finds the task finished without polling.
      await work;
      return { task: (await extra.taskStore.getTask(task.taskId)) ?? task };
    },
    getTask: async (_input, extra) => {
      const task = await extra.taskStore.getTask(extra.taskId);
      if (!task) throw new Error(`No task ${extra.taskId}.`);
      return task;
    },
    getTaskResult: async (_input, extra) => (await extra.taskStore.getTaskResult(extra.taskId)) as CallToolResult,
  };
  server.experimental.tasks.registerToolTask(name, { ...config, execution: { taskSupport: 'optional' } }, handler as never);
}
