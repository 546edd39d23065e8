/**
 * How each coding agent is started on a task with selfscope as its MCP server: argv only,
 * built as data so tests can assert it exactly.
 */
export type AgentKind = 'claude-code' | 'codex';

/** The executable each agent is started as. */
export const AGENT_BINARY: Record<AgentKind, string> = { 'claude-code': 'claude', codex: 'codex' };

export interface McpServerLaunch {
  command: string;
  args: string[];
  env?: Record<string, string>;
}

/** Claude Code's `--mcp-config` file format. */
export function claudeMcpConfig(server: McpServerLaunch): { mcpServers: Record<string, McpServerLaunch> } {
  return { mcpServers: { selfscope: server } };
}

function tomlString(value: string): string {
  return JSON.stringify(value); // TOML basic strings share JSON's escapes for what we emit
}

export interface AgentCommandInput {
  agent: AgentKind;
  prompt: string;
  worktree: string;
  mcpConfigFile: string;
  server: McpServerLaunch;
  /** Extra arguments from configuration (model, permission mode...). */
  extraArgs?: string[];
}

export function agentCommand(input: AgentCommandInput): { command: string; args: string[] } {
  if (input.agent === 'claude-code') {
    return {
      command: AGENT_BINARY['claude-code'],
      args: [
        '-p',
        input.prompt,
        '--mcp-config',
        input.mcpConfigFile,
        '--strict-mcp-config',
        '--output-format',
        'stream-json',
        '--verbose',
        '--permission-mode',
        'acceptEdits',
        '--allowedTools',
        'mcp__selfscope',
        ...(input.extraArgs ?? []),
      ],
    };
  }
  const overrides = [
    `mcp_servers.selfscope.command=${tomlString(input.server.command)}`,
    `mcp_servers.selfscope.args=[${input.server.args.map(tomlString).join(', ')}]`,
    ...Object.entries(input.server.env ?? {}).map(([k, v]) => `mcp_servers.selfscope.env.${k}=${tomlString(v)}`),
  ];
  return {
    command: AGENT_BINARY.codex,
    args: ['exec', '--json', '--cd', input.worktree, '--sandbox', 'workspace-write', ...overrides.flatMap((o) => ['-c', o]), ...(input.extraArgs ?? []), '--', input.prompt],
  };
}

/** Progress read from an agent's JSON event stream (Claude Code stream-json, Codex --json). */
export interface AgentEvent {
  type: 'started' | 'message' | 'tool_call' | 'result' | 'error' | 'other';
  text?: string;
  tool?: string;
  costUsd?: number;
  isError?: boolean;
}

export function parseAgentEvent(agent: AgentKind, line: string): AgentEvent | null {
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof event !== 'object' || event === null) return null;
  if (agent === 'claude-code') {
    if (event['type'] === 'system' && event['subtype'] === 'init') return { type: 'started' };
    if (event['type'] === 'result') {
      return {
        type: 'result',
        ...(typeof event['result'] === 'string' ? { text: event['result'] } : {}),
        ...(typeof event['total_cost_usd'] === 'number' ? { costUsd: event['total_cost_usd'] } : {}),
        isError: event['is_error'] === true || event['subtype'] !== 'success',
      };
    }
    if (event['type'] === 'assistant') {
      const content = ((event['message'] as { content?: unknown[] } | undefined)?.content ?? []) as Array<Record<string, unknown>>;
      const tool = content.find((c) => c['type'] === 'tool_use');
      if (tool) return { type: 'tool_call', tool: String(tool['name']) };
      const text = content.filter((c) => c['type'] === 'text').map((c) => String(c['text'])).join('\n');
      return text ? { type: 'message', text } : { type: 'other' };
    }
    return { type: 'other' };
  }
  const item = event['item'] as Record<string, unknown> | undefined;
  if (event['type'] === 'thread.started') return { type: 'started' };
  if (event['type'] === 'item.completed' && item?.['type'] === 'agent_message') return { type: 'message', text: String(item['text'] ?? '') };
  if (event['type'] === 'item.started' && item?.['type'] === 'mcp_tool_call') return { type: 'tool_call', tool: String(item['tool'] ?? '') };
  if (event['type'] === 'turn.completed') return { type: 'result' };
  if (event['type'] === 'turn.failed' || event['type'] === 'error') return { type: 'error', isError: true, text: String((event['error'] as { message?: string } | undefined)?.message ?? event['message'] ?? '') };
  return { type: 'other' };
}
