import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { GlobalOptions } from '../context.js';

const CLI_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'main.js');

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('set selfscope up in a bot repository: configuration, MCP config, git excludes')
    .option('--force', 'overwrite values that differ from what was detected')
    .option('--dry-run', 'show every change it would make (diffs), write nothing')
    .option('--mcp-config <file...>', 'also write or merge these Claude Code MCP configuration files')
    .option('--no-project-mcp-json', 'do not write .mcp.json in the repository')
    .option('--json', 'machine-readable output')
    .action(async (options: { force?: boolean; dryRun?: boolean; mcpConfig?: string[]; projectMcpJson: boolean; json?: boolean }, command: Command) => {
      // Loaded here: a command loads only its own modules.
      const [{ resolveCliConfig }, { runInit }] = await Promise.all([import('../context.js'), import('../../core/init/init.js')]);
      const config = await resolveCliConfig(command.optsWithGlobals<GlobalOptions>());
      const result = await runInit({
        repo: config.repo,
        stateDir: config.stateDir,
        server: { command: 'node', args: [CLI_PATH, 'serve'] },
        force: options.force === true,
        dryRun: options.dryRun === true,
        ...(options.mcpConfig ? { mcpConfigPaths: options.mcpConfig } : {}),
        noProjectMcpJson: options.projectMcpJson === false,
        // A run_tests call may ask for up to checks.maxTimeoutS: Codex must wait longer than that.
        checkMaxTimeoutS: config.checks.maxTimeoutS,
        privateDir: config.privateDirPath,
        sensitivePaths: config.git.sensitivePaths,
      });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      const d = result.detection;
      const out: string[] = [
        `selfscope init in ${result.repo}${options.dryRun ? ' (dry run: nothing written; these are the changes a run would make)' : ''}`,
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
        const action = options.dryRun && (change.action === 'create' || change.action === 'update') ? `would ${change.action}` : change.action;
        out.push(`${action.padEnd(15)} ${change.file}${change.reason ? `  — ${change.reason}` : ''}`);
        if (change.diff) out.push(change.diff.trimEnd().replace(/^/gm, '    '));
      }
      for (const note of result.notes) out.push('', `Note: ${note}`);

      const { advice } = result;
      if (advice.commit.length > 0) {
        const width = Math.max(...advice.commit.map((c) => c.file.length + c.state.length + 3));
        out.push('', 'Commit these, so every checkout and session shares them:');
        for (const c of advice.commit) out.push(`  ${`${c.file} (${c.state})`.padEnd(width)}  ${c.why}`);
        if (advice.gitAdd) out.push(`  ${options.dryRun ? 'after a run: ' : ''}${advice.gitAdd}`);
      }
      out.push('', 'Never commit:');
      for (const n of advice.never) out.push(`  ${n.path} — ${n.why}`);

      out.push('', 'Claude Code without .mcp.json (for you, in this repository):', `  ${result.claudeMcpAdd}`);
      out.push('', 'For Codex, add to ~/.codex/config.toml:', '', result.codexBlock, '');
      process.stdout.write(`${out.join('\n')}\n`);
      if (result.changes.some((c) => c.action === 'skipped')) process.exitCode = 1;
    });
}
