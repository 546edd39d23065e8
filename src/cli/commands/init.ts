import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { runInit } from '../../core/init/init.js';
import { resolveCliConfig, type GlobalOptions } from '../context.js';

const CLI_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'main.js');
const SCHEMA_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'schema', 'selfscope.config.schema.json');

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('set selfscope up in a bot repository: configuration, MCP config, git excludes')
    .option('--force', 'overwrite values that differ from what was detected')
    .option('--dry-run', 'show what would change, write nothing')
    .option('--mcp-config <file...>', 'also write or merge these Claude Code MCP configuration files')
    .option('--no-project-mcp-json', 'do not write .mcp.json in the repository')
    .option('--json', 'machine-readable output')
    .action(async (options: { force?: boolean; dryRun?: boolean; mcpConfig?: string[]; projectMcpJson: boolean; json?: boolean }, command: Command) => {
      const config = await resolveCliConfig(command.optsWithGlobals<GlobalOptions>());
      const schemaRel = path.relative(config.repo, SCHEMA_PATH).split(path.sep).join('/');
      const result = await runInit({
        repo: config.repo,
        stateDir: config.stateDir,
        server: { command: 'node', args: [CLI_PATH, 'serve'] },
        schemaRef: schemaRel.startsWith('.') ? schemaRel : `./${schemaRel}`,
        force: options.force === true,
        dryRun: options.dryRun === true,
        ...(options.mcpConfig ? { mcpConfigPaths: options.mcpConfig } : {}),
        noProjectMcpJson: options.projectMcpJson === false,
      });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      const d = result.detection;
      const out: string[] = [
        `selfscope init in ${result.repo}${options.dryRun ? ' (dry run: nothing written)' : ''}`,
        '',
        'Detected:',
        `  logs:            ${d.logs.join(', ')}  (${d.logsReason})`,
        `  package manager: ${d.packageManager ?? 'none (no package.json)'}`,
        `  typecheck:       ${d.scripts.typecheck ? `${d.packageManager} run typecheck  (${d.scripts.typecheck})` : 'no "typecheck" script: tsc --noEmit is used when there is a tsconfig.json'}`,
        `  test:            ${d.scripts.test ? `${d.packageManager} run test  (${d.scripts.test})` : 'no "test" script: set checks.test in selfscope.config.json'}`,
        `  GitHub:          ${d.github ? `${d.github.owner}/${d.github.repo} (remote ${d.github.remote})` : 'no GitHub remote: pull requests become local proposals'}`,
        '',
      ];
      for (const change of result.changes) {
        out.push(`${change.action.padEnd(9)} ${change.file}${change.reason ? `  — ${change.reason}` : ''}`);
        if (change.diff) out.push(change.diff.trimEnd().replace(/^/gm, '    '));
      }
      out.push('', 'For Codex, add to ~/.codex/config.toml:', '', result.codexBlock, '');
      process.stdout.write(`${out.join('\n')}\n`);
      if (result.changes.some((c) => c.action === 'skipped')) process.exitCode = 1;
    });
}
