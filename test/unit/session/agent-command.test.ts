import { describe, expect, it } from 'vitest';
import { agentCommand, claudeSettings } from '../../../src/core/session/agent-command.js';

const server = { command: '/usr/bin/node', args: ['/opt/selfscope/dist/cli/main.js', 'serve'], env: { SELFSCOPE_PRIVATE_DIR: '/home/bot/.local/state/selfscope/clanky-0123' } };

describe('agent argv', () => {
  it('starts Claude Code with its session settings file', () => {
    const { command, args } = agentCommand({ agent: 'claude-code', prompt: 'P', worktree: '/w', mcpConfigFile: '/s/mcp.json', settingsFile: '/s/claude-settings.json', server });
    expect(command).toBe('claude');
    expect(args).toEqual(['-p', 'P', '--settings', '/s/claude-settings.json', '--mcp-config', '/s/mcp.json', '--strict-mcp-config', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits', '--allowedTools', 'mcp__selfscope']);
  });

  it('starts Codex sandboxed to its worktree, without network, its server told where the private state is', () => {
    const { command, args } = agentCommand({ agent: 'codex', prompt: 'P', worktree: '/w', mcpConfigFile: '/s/mcp.json', server });
    expect(command).toBe('codex');
    expect(args).toEqual([
      'exec', '--json', '--cd', '/w', '--sandbox', 'workspace-write',
      '-c', 'sandbox_workspace_write.network_access=false',
      '-c', 'mcp_servers.selfscope.command="/usr/bin/node"',
      '-c', 'mcp_servers.selfscope.args=["/opt/selfscope/dist/cli/main.js", "serve"]',
      '-c', 'mcp_servers.selfscope.env.SELFSCOPE_PRIVATE_DIR="/home/bot/.local/state/selfscope/clanky-0123"',
      '--', 'P',
    ]);
  });
});

describe('tool timeouts', () => {
  it('give Codex a tool timeout long enough for a full test run', () => {
    const { args } = agentCommand({ agent: 'codex', prompt: 'P', worktree: '/w', mcpConfigFile: '/s/mcp.json', server, toolTimeoutS: 1860 });
    expect(args).toContain('mcp_servers.selfscope.tool_timeout_sec=1860');
    expect(args.indexOf('mcp_servers.selfscope.tool_timeout_sec=1860')).toBeLessThan(args.indexOf('--'));
  });
});

describe("Claude Code's session settings", () => {
  it('turn the sandbox on with no way out, and deny the hidden and read-only paths by absolute rules', () => {
    const settings = claudeSettings({ hidden: ['/home/bot/.local/state/selfscope/x', '/srv/bot/.selfscope/sessions'], readOnly: ['/srv/bot/.git'] });
    expect(settings).toEqual({
      sandbox: {
        enabled: true,
        failIfUnavailable: true,
        allowUnsandboxedCommands: false,
        autoAllowBashIfSandboxed: false,
        filesystem: {
          denyRead: ['//home/bot/.local/state/selfscope/x', '//srv/bot/.selfscope/sessions'],
          denyWrite: ['//home/bot/.local/state/selfscope/x', '//srv/bot/.selfscope/sessions', '//srv/bot/.git'],
        },
      },
      permissions: {
        deny: [
          'Read(//home/bot/.local/state/selfscope/x)', 'Edit(//home/bot/.local/state/selfscope/x)',
          'Read(//home/bot/.local/state/selfscope/x/**)', 'Edit(//home/bot/.local/state/selfscope/x/**)',
          'Read(//srv/bot/.selfscope/sessions)', 'Edit(//srv/bot/.selfscope/sessions)',
          'Read(//srv/bot/.selfscope/sessions/**)', 'Edit(//srv/bot/.selfscope/sessions/**)',
          'Edit(//srv/bot/.git)', 'Edit(//srv/bot/.git/**)',
        ],
        disableBypassPermissionsMode: 'disable',
      },
    });
  });

  it('escapes glob characters in a real path so a rule names only that path', () => {
    const settings = claudeSettings({ hidden: ['/tmp/a*b/[x]'], readOnly: [] }) as { permissions: { deny: string[] } };
    expect(settings.permissions.deny[0]).toBe('Read(//tmp/a\\*b/\\[x\\])');
  });
});
