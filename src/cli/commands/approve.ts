import readline from 'node:readline/promises';
import type { Command } from 'commander';
import { appendAudit } from '../../core/audit/audit-log.js';
import { UserInputError } from '../../core/errors.js';
import { mergePullRequest } from '../../core/github/merge.js';
import { recordApproval } from '../../core/policy/approvals.js';
import { resolveCliConfig, type GlobalOptions } from '../context.js';

export function registerApprovalCommands(program: Command): void {
  program
    .command('approve')
    .description('approve, as a person at a terminal, a commit that touches security-sensitive files')
    .requiredOption('--tree <id>', 'the tree named in git_commit\'s refusal')
    .action(async (o: { tree: string }, command: Command) => {
      if (!/^[0-9a-f]{40}$/.test(o.tree)) throw new UserInputError('--tree takes the 40-hex tree id from the refusal.', { hint: 'Copy it from git_commit\'s message.' });
      // A person at a terminal, not an agent's tool call: no TTY, no approval.
      if (!process.stdin.isTTY || !process.stdout.isTTY) {
        throw new UserInputError('selfscope approve must be run by a person at an interactive terminal.', { hint: 'Open a terminal and run the command yourself.' });
      }
      const config = await resolveCliConfig(command.optsWithGlobals<GlobalOptions>());
      const code = o.tree.slice(0, 6);
      const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
      const answer = await rl.question(`Approve committing tree ${o.tree} (security-sensitive files) in ${config.repo}?\nType ${code} to approve: `);
      rl.close();
      if (answer.trim() !== code) {
        process.stdout.write('Not approved.\n');
        process.exitCode = 1;
        return;
      }
      const who = process.env['USER'] ?? 'terminal user';
      const approval = await recordApproval(config.stateDirPath, { kind: 'sensitive_commit', subject: o.tree, approved_by: who, via: 'cli' });
      await appendAudit(config.stateDirPath, { kind: 'selfscope_git', event: 'approval', tool: 'selfscope approve', outcome: 'approved', arguments: { tree: o.tree }, details: { approval: approval.id, by: who } });
      process.stdout.write(`Approved (${approval.id}). The agent can call git_commit again.\n`);
    });

  program
    .command('merge')
    .description('merge a pull request for an allowed user who said "ship it" (the bot runs this)')
    .argument('<pr>', 'pull request number')
    .requiredOption('--approved-by <user-id>', 'the allowed user (github.allowedUserIds) who approved')
    .option('--method <method>', 'merge, squash or rebase', 'squash')
    .option('--json', 'machine-readable output')
    .action(async (pr: string, o: { approvedBy: string; method: 'merge' | 'squash' | 'rebase'; json?: boolean }, command: Command) => {
      const number = Number(pr);
      if (!Number.isInteger(number) || number < 1) throw new UserInputError(`"${pr}" is not a pull request number.`, { hint: 'e.g. selfscope merge 48 --approved-by 1180000000000000003' });
      const config = await resolveCliConfig(command.optsWithGlobals<GlobalOptions>());
      let result;
      try {
        result = await mergePullRequest({ repo: config.repo, config, number, method: o.method, approvedByUserId: o.approvedBy });
      } catch (error) {
        await appendAudit(config.stateDirPath, { kind: 'selfscope_git', event: 'git_pr_merge', tool: 'selfscope merge', outcome: 'refused', arguments: { pr: number }, user_id: o.approvedBy, details: { reason: (error as Error).message } });
        throw error;
      }
      await appendAudit(config.stateDirPath, { kind: 'selfscope_git', event: 'git_pr_merge', tool: 'selfscope merge', outcome: result.merged ? 'merged' : `refused: ${result.status}`, arguments: { pr: number }, user_id: o.approvedBy, details: { result } });
      if (o.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else process.stdout.write(result.merged ? `Merged #${number} (${result.sha.slice(0, 10)}).\n` : `Not merged (${result.status}): ${result.what_to_do}\n`);
      if (!result.merged) process.exitCode = 1;
    });
}
