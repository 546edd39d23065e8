import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import {
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CallToolResult,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { z } from 'zod';
import type { Logger } from '../core/logger.js';
import { ALL_PROMPTS } from '../prompts/index.js';
import type { AnyPromptDefinition } from '../prompts/define-prompt.js';
import { ALL_RESOURCES } from '../resources/index.js';
import { isTemplateResource, type ResourceDefinition } from '../resources/define-resource.js';
import type { ToolContext } from '../tools/define-tool.js';
import { SERVER_NAME } from '../version.js';
import type { AppContext } from './app-context.js';
import { egressPrompt, egressResourceContents, errorToMessage, errorToToolResult, toolCallResult } from './boundary.js';
import { deferredToolSchemas } from './deferred-schemas.js';
import { ensureAppStateDir } from './engines.js';
import { missingTools, planRegistration, sessionRuntime, withMissingToolsNote, type SessionChoices } from './filters.js';
import { SERVER_INSTRUCTIONS } from './instructions.js';
import { registerTaskTool, ToolTaskStore } from './tool-tasks.js';
import { checkResourceUri, checkTemplateValue } from './resource-uri.js';
import { TOOL_CATALOG, type ToolEntry } from './tool-catalog.js';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

// The registration filters (read-only, toolsets, allowed and denied tools) live in filters.ts.
export { selectTools } from './filters.js';

/**
 * Builds one MCP server for one client session. Never shared between clients. `session`:
 * what an HTTP client's headers asked for, which narrows the server's own choices.
 */
export function createServer(root: AppContext, session?: SessionChoices): McpServer {
  const app = session ? root.forSession(sessionRuntime(root.runtime, session)) : root;
  const plan = planRegistration(app.runtime, { tools: TOOL_CATALOG, prompts: ALL_PROMPTS, resources: ALL_RESOURCES });
  const tools = TOOL_CATALOG.filter((tool) => plan.toolNames.has(tool.name));
  // Long-running tools (full checks) are offered as MCP tasks to the clients that support them.
  const taskStore = new ToolTaskStore();
  const server = new McpServer(
    { name: SERVER_NAME, version: app.version },
    {
      capabilities: { logging: {}, resources: { subscribe: true, listChanged: false }, tools: {}, prompts: {}, completions: {}, tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } },
      taskStore,
      instructions: SERVER_INSTRUCTIONS,
    },
  );

  const sessionLogger: Logger = {
    log(level, message, data) {
      if (!server.isConnected()) return;
      void server.sendLoggingMessage({ level, logger: SERVER_NAME, data: data ? { message, ...data } : message }).catch(() => {});
    },
  };
  const unsubscribeLogs = 'subscribe' in app.logger ? (app.logger as { subscribe(sink: Logger['log']): () => void }).subscribe(sessionLogger.log) : () => {};

  for (const tool of tools) registerTool(server, app, tool, taskStore);
  // The SDK's answer for these tools, made by the build (tool-listing.ts): listing them neither
  // loads their definitions nor converts their schemas.
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: tools.map((tool) => tool.listed) }));
  for (const resource of plan.resources) registerResource(server, app, resource);
  for (const prompt of plan.prompts) registerPrompt(server, app, prompt, missingTools(prompt, plan.toolNames));
  const stopSubscriptions = registerSubscriptions(server, app, plan.resources);

  const previousOnClose = server.server.onclose;
  server.server.onclose = () => {
    unsubscribeLogs();
    stopSubscriptions();
    taskStore.close();
    previousOnClose?.();
  };
  return server;
}

function toolContext(server: McpServer, app: AppContext, extra: Extra): ToolContext {
  const progressToken = extra._meta?.progressToken;
  return {
    app,
    signal: extra.signal,
    sessionId: extra.sessionId,
    logger: app.logger,
    async progress(progress, total, message) {
      if (progressToken === undefined) return;
      await extra
        .sendNotification({
          method: 'notifications/progress',
          params: { progressToken, progress, ...(total !== undefined ? { total } : {}), ...(message ? { message } : {}) },
        })
        .catch(() => {});
    },
    async elicit(request) {
      if (!server.server.getClientCapabilities()?.elicitation) return null;
      const result = await server.server.elicitInput({ mode: 'form', message: request.message, requestedSchema: request.requestedSchema } as Parameters<typeof server.server.elicitInput>[0], {
        signal: extra.signal,
      });
      if (result.action === 'accept') return { action: 'accept', content: (result.content ?? {}) as Record<string, unknown> };
      return { action: result.action };
    },
  };
}

function registerTool(server: McpServer, app: AppContext, tool: ToolEntry, taskStore: ToolTaskStore): void {
  const schemas = deferredToolSchemas(tool);
  const config = {
    title: tool.listed.title ?? tool.name,
    description: tool.listed.description ?? '',
    // Schemas where TaskToolConfig says raw shapes (the SDK takes either). They validate calls
    // only: tools/list is answered from the catalog.
    inputSchema: schemas.input as never,
    outputSchema: schemas.output as never,
    annotations: tool.listed.annotations ?? {},
  };
  const call = async (input: unknown, extra: Extra): Promise<CallToolResult> => {
    const started = Date.now();
    const trace = (data: string) => void server.sendLoggingMessage({ level: 'debug', logger: SERVER_NAME, data }, extra.sessionId).catch(() => {});
    trace(`${tool.name} started`);
    try {
      const definition = await tool.load();
      // Created at the first call, not at start-up: a tool may write there.
      await ensureAppStateDir(app);
      const result = await definition.handler(input as Record<string, unknown>, toolContext(server, app, extra));
      trace(`${tool.name} finished in ${Date.now() - started} ms`);
      // Every result leaves through the egress gate (boundary.ts): sanitised, delimited, bounded.
      return toolCallResult(definition, result, app.config.limits, app.logger);
    } catch (error) {
      trace(`${tool.name} failed after ${Date.now() - started} ms`);
      return errorToToolResult(error, tool.name, app.logger);
    }
  };
  if (tool.longRunning) registerTaskTool(server, taskStore, tool.name, config, call);
  else server.registerTool(tool.name, config, call as never);
}

function registerResource(server: McpServer, app: AppContext, resource: ResourceDefinition): void {
  const metadata = { title: resource.title, description: resource.description, mimeType: resource.mimeType };
  if (!isTemplateResource(resource)) {
    server.registerResource(resource.name, resource.uri, metadata, async (uri) => {
      checkResourceUri(uri.href);
      try {
        return { contents: egressResourceContents(resource, await resource.read({ app, uri }), app.config.limits) };
      } catch (error) {
        throw new McpError(ErrorCode.InvalidParams, errorToMessage(error, resource.name));
      }
    });
    return;
  }
  const complete = resource.complete
    ? Object.fromEntries(
        Object.entries(resource.complete).map(([variable, fn]) => [variable, (value: string) => fn(value, { app }).catch(() => [])]),
      )
    : undefined;
  const template = new ResourceTemplate(resource.uriTemplate, {
    list: resource.list
      ? async () => ({ resources: (await resource.list!({ app })).map((r) => ({ ...r, mimeType: resource.mimeType })) })
      : undefined,
    ...(complete ? { complete } : {}),
  });
  server.registerResource(resource.name, template, metadata, async (uri, variables) => {
    checkResourceUri(uri.href);
    const params = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]));
    for (const value of Object.values(params)) checkTemplateValue(value);
    try {
      return { contents: egressResourceContents(resource, await resource.read({ app, uri, params }), app.config.limits) };
    } catch (error) {
      throw new McpError(ErrorCode.InvalidParams, errorToMessage(error, resource.name));
    }
  });
}

function registerPrompt(server: McpServer, app: AppContext, prompt: AnyPromptDefinition, missing: readonly string[]): void {
  const argsSchema: Record<string, z.ZodType<string | undefined>> = {};
  for (const [name, schema] of Object.entries(prompt.argsSchema as Record<string, z.ZodType<string | undefined>>)) {
    const completer = prompt.complete?.[name];
    // completable() marks the schema object itself: each server (one per HTTP session) marks its own copy.
    argsSchema[name] = completer ? (completable(schema.clone(), (value) => completer(String(value ?? ''), { app }).catch(() => [])) as never) : schema;
  }
  server.registerPrompt(prompt.name, { title: prompt.title, description: prompt.description, argsSchema: argsSchema as never }, (async (args: Record<string, string | undefined>) => {
    try {
      return egressPrompt(prompt, withMissingToolsNote(await prompt.render(args, { app }), missing), app.config.limits);
    } catch (error) {
      throw new McpError(ErrorCode.InvalidParams, errorToMessage(error, prompt.name));
    }
  }) as never);
}

/** resources/subscribe: remembers URIs per session and forwards matching update events. */
function registerSubscriptions(server: McpServer, app: AppContext, resources: readonly ResourceDefinition[]): () => void {
  const subscribable = new Map(
    resources.filter((r) => r.subscribable && !isTemplateResource(r)).map((r) => [(r as { uri: string }).uri, r] as const),
  );
  const subscribed = new Map<string, (() => void) | null>();
  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    checkResourceUri(request.params.uri);
    const resource = subscribable.get(request.params.uri);
    if (!resource) {
      throw new McpError(ErrorCode.InvalidParams, `Resource ${request.params.uri} does not support subscriptions. Subscribable: ${[...subscribable.keys()].join(', ') || 'none'}.`);
    }
    if (!subscribed.has(request.params.uri)) {
      subscribed.set(request.params.uri, null);
      try {
        const stop = resource.onSubscribe ? await resource.onSubscribe({ app }) : null;
        if (subscribed.has(request.params.uri)) subscribed.set(request.params.uri, stop);
        else stop?.();
      } catch (error) {
        subscribed.delete(request.params.uri);
        throw new McpError(ErrorCode.InternalError, errorToMessage(error, `subscribe ${request.params.uri}`));
      }
    }
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscribed.get(request.params.uri)?.();
    subscribed.delete(request.params.uri);
    return {};
  });
  const onUpdated = (uri: string) => {
    if (subscribed.has(uri) && server.isConnected()) void server.server.sendResourceUpdated({ uri }).catch(() => {});
  };
  app.resourceEvents.on('updated', onUpdated);
  return () => {
    app.resourceEvents.off('updated', onUpdated);
    for (const stop of subscribed.values()) stop?.();
    subscribed.clear();
  };
}
