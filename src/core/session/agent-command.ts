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

/**
 * What the agent's sandbox hides. Paths are absolute; a directory covers its subtree.
 */
export interface SandboxPaths {
  /** Neither read nor written: selfscope's private state, other sessions' files, other worktrees. */
  hidden: string[];
  /** Read but never written: the main checkout's git directory, the worktree's own .git file. */
  readOnly: string[];
}

// Claude Code reads Read/Edit rules and sandbox paths as gitignore patterns, where `//` anchors
// at the filesystem root; a glob character in a real path is escaped so it means itself.
function rootAnchored(p: string): string {
  return `/${p.replace(/[\\*?[\]]/g, (c) => `\\${c}`)}`;
}

/**
 * Claude Code's settings for a session (`--settings <file>`): its OS sandbox on, with no
 * fallback to running a command unsandboxed and no start without it; commands write only
 * in the working directory (the worktree, Claude Code's default) and never the read-only
 * paths; the hidden paths are out of reach of Read, Edit and sandboxed commands alike; and
 * permission-bypass mode is off. Shell commands still need an allow rule (none is given by
 * default): the sandbox is what confines them where an operator allows them.
 */
export function claudeSettings(paths: SandboxPaths): Record<string, unknown> {
  const subtree = (p: string) => [rootAnchored(p), `${rootAnchored(p)}/**`];
  return {
    sandbox: {
      enabled: true,
      failIfUnavailable: true,
      allowUnsandboxedCommands: false,
      autoAllowBashIfSandboxed: false,
      filesystem: {
        denyRead: paths.hidden.map(rootAnchored),
        denyWrite: [...paths.hidden, ...paths.readOnly].map(rootAnchored),
      },
    },
    permissions: {
      deny: [...paths.hidden.flatMap((p) => subtree(p).flatMap((r) => [`Read(${r})`, `Edit(${r})`])), ...paths.readOnly.flatMap((p) => subtree(p).map((r) => `Edit(${r})`))],
      disableBypassPermissionsMode: 'disable',
    },
  };
}

export interface AgentCommandInput {
  agent: AgentKind;
  prompt: string;
  worktree: string;
  mcpConfigFile: string;
  /** Claude Code's settings file (its sandbox and deny rules). */
  settingsFile?: string;
  server: McpServerLaunch;
  /** Extra arguments from configuration (model, permission mode...). */
  extraArgs?: string[];
  /** Codex's limit on one selfscope tool call (its default, 60 s, is shorter than a test run). */
  toolTimeoutS?: number;
}

export function agentCommand(input: AgentCommandInput): { command: string; args: string[] } {
  if (input.agent === 'claude-code') {
    return {
      command: AGENT_BINARY['claude-code'],
      args: [
        '-p',
        input.prompt,
        ...(input.settingsFile ? ['--settings', input.settingsFile] : []),
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
    // Commands Codex runs write only in the worktree (--sandbox workspace-write) and reach no network.
    'sandbox_workspace_write.network_access=false',
    `mcp_servers.selfscope.command=${tomlString(input.server.command)}`,
    `mcp_servers.selfscope.args=[${input.server.args.map(tomlString).join(', ')}]`,
    ...Object.entries(input.server.env ?? {}).map(([k, v]) => `mcp_servers.selfscope.env.${k}=${tomlString(v)}`),
    ...(input.toolTimeoutS !== undefined ? [`mcp_servers.selfscope.tool_timeout_sec=${Math.ceil(input.toolTimeoutS)}`] : []),
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
