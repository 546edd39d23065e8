import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { VERSION } from '../../version.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// dist/cli/commands -> package root
const packageRoot = path.resolve(here, '..', '..', '..');

/**
 * The built-in example: a throwaway bot repository with a runtime log, served by the real
 * server over stdio and driven by the real MCP client, each step printed with its time.
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run selfscope on a built-in example bot repository, step by step')
    .option('--keep', 'keep the example repository instead of deleting it')
    .action(async (options: { keep?: boolean }) => {
      // Loaded here, not at start-up: every other command starts faster without them.
      const [{ Client }, { StdioClientTransport }, { execa }] = await Promise.all([
        import('@modelcontextprotocol/sdk/client/index.js'),
        import('@modelcontextprotocol/sdk/client/stdio.js'),
        import('execa'),
      ]);
      const started = Date.now();
      const step = (label: string, detail = '') => process.stdout.write(`[${String(Date.now() - started).padStart(5)} ms] ${label}${detail ? `\n${detail.replace(/^/gm, '           ')}` : ''}\n`);

      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-demo-'));
      try {
        await fs.mkdir(path.join(dir, 'data', 'logs'), { recursive: true });
        await fs.copyFile(path.join(packageRoot, 'examples', 'runtime-actions.ndjson'), path.join(dir, 'data', 'logs', 'runtime-actions.ndjson'));
        await fs.writeFile(path.join(dir, 'README.md'), '# example bot\n');
        await execa('git', ['init', '-q', '-b', 'main'], { cwd: dir });
        await execa('git', ['-c', 'user.name=demo', '-c', 'user.email=demo@example.invalid', 'commit', '-q', '--allow-empty', '-m', 'initial'], { cwd: dir });
        step(`example bot repository created`, dir);

        const client = new Client({ name: 'selfscope-demo', version: VERSION });
        const transport = new StdioClientTransport({
          command: process.execPath,
          args: [path.join(packageRoot, 'dist', 'cli', 'main.js'), 'serve', '--repo', dir],
          cwd: dir,
          stderr: 'pipe',
        });
        await client.connect(transport);
        step(`selfscope serve started and connected over stdio (${client.getServerVersion()?.name} ${client.getServerVersion()?.version})`);
        try {
          const { tools } = await client.listTools();
          step(`tools/list: ${tools.length} tools`, tools.map((t) => `${t.name}${t.annotations?.readOnlyHint ? ' (read-only)' : ''}`).join('\n'));
          const status = await client.callTool({ name: 'selfscope_status', arguments: {} });
          const text = (status.content as Array<{ type: string; text?: string }>).map((c) => c.text ?? '').join('\n');
          step('tools/call selfscope_status', text);
        } finally {
          await client.close();
        }
        step('done. Connect your own client: claude --mcp-config mcp.json, or see the README for Codex and the MCP Inspector.');
      } finally {
        if (options.keep) process.stdout.write(`kept: ${dir}\n`);
        else await fs.rm(dir, { recursive: true, force: true });
      }
    });
}
