import os from 'node:os';
import readline from 'node:readline/promises';
import type { Command } from 'commander';
import { PolicyError, UserInputError } from '../../core/errors.js';
import type { MergeConfig } from '../../core/github/merge.js';
import type { GlobalOptions } from '../context.js';

/**
 * `selfscope approve`: a person at an interactive terminal approves one tree with
 * security-sensitive files, or one pull request at its current head. It trusts whoever can
 * type at this machine's terminal as its user; an agent's tool call has no terminal (and a
 * sandboxed agent cannot write the private state the approval is recorded in).
 */

/** The terminal as the approval needs it (a test passes its own). */
export interface TerminalIO {
  /** A TTY on both stdin and stdout. */
  interactive: boolean;
  /** The OS user typing, recorded as the approver. */
  user: string;
  ask(question: string): Promise<string>;
  print(text: string): void;
}

export function processTerminal(): TerminalIO {
  let user = process.env['USER'] ?? 'terminal user';
  try {
    user = os.userInfo().username;
  } catch {
    // keep $USER
  }
  return {
    interactive: process.stdin.isTTY === true && process.stdout.isTTY === true,
    user,
    ask: async (question) => {
      const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
    print: (text) => void process.stdout.write(text),
  };
}

// Titles and file names come from GitHub: nothing in them may drive the terminal.
function printable(text: string, max = 200): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

function refuseWithoutTerminal(): PolicyError {
  return new PolicyError('selfscope approve must be run by a person at an interactive terminal.', {
    hint: 'Open a terminal on this machine and run the command yourself; an agent or a script cannot approve.',
  });
}

type ApproveConfig = MergeConfig & { repo: string };

// What approving and merging run, loaded when they run: a command loads only its own modules.
async function engines() {
  const [audit, approvals, merge, context] = await Promise.all([
    import('../../core/audit/audit-log.js'),
    import('../../core/policy/approvals.js'),
    import('../../core/github/merge.js'),
    import('../context.js'),
  ]);
  return { ...audit, ...approvals, ...merge, ...context };
}

/** Approves committing one tree that touches security-sensitive files. */
export async function approveTreeAtTerminal(config: ApproveConfig, tree: string, io: TerminalIO): Promise<boolean> {
  if (!/^[0-9a-f]{40}$/.test(tree)) throw new UserInputError('--tree takes the 40-hex tree id from the refusal.', { hint: "Copy it from git_commit's message." });
  const { appendAudit, recordApproval } = await engines();
  const audit = (outcome: string, details: Record<string, unknown> = {}) =>
    appendAudit(config.privateDirPath, { kind: 'selfscope_policy', event: 'commit_approval', tool: 'selfscope approve', outcome, arguments: { tree }, details: { channel: 'terminal', by: io.user, ...details } });
  if (!io.interactive) {
    await audit('refused: no interactive terminal');
    throw refuseWithoutTerminal();
  }
  const code = tree.slice(0, 6);
  const answer = await io.ask(`Approve committing tree ${tree} (security-sensitive files, or tests of the base that no longer run) in ${config.repo}?\nType ${code} to approve: `);
  if (answer.trim() !== code) {
    await audit('refused: confirmation code not typed');
    io.print('Not approved.\n');
    return false;
  }
  const approval = await recordApproval(config.privateDirPath, { kind: 'sensitive_commit', subject: tree, approved_by: io.user, via: 'terminal' });
  await audit('granted', { approval: approval.id });
  io.print(`Approved (${approval.id}). The agent can call git_commit again.\n`);
  return true;
}

/**
 * Approves merging pull request #N at the head GitHub reports now: shows its title, head and
 * diff stat, and records the approval only when the person types the head's short sha.
 */
export async function approveMergeAtTerminal(config: ApproveConfig, number: number, io: TerminalIO, env?: NodeJS.ProcessEnv): Promise<boolean> {
  const { appendAudit, recordApproval, readPullRequestSummary, mergeConfirmationCode } = await engines();
  const audit = (outcome: string, subject: string, details: Record<string, unknown> = {}) =>
    appendAudit(config.privateDirPath, { kind: 'selfscope_policy', event: 'merge_approval', tool: 'selfscope approve', outcome, arguments: { subject }, details: { channel: 'terminal', by: io.user, ...details } });
  if (!io.interactive) {
    await audit('refused: no interactive terminal', `#${number}`);
    throw refuseWithoutTerminal();
  }
  const pr = await readPullRequestSummary({ repo: config.repo, config, number, ...(env ? { env } : {}) });
  if (pr.state !== 'open' || pr.merged) {
    await audit(`refused: pull request ${pr.merged ? 'merged' : pr.state}`, pr.subject);
    throw new UserInputError(`Pull request #${number} is ${pr.merged ? 'merged already' : pr.state}.`, { hint: 'Only an open pull request can be approved.' });
  }
  const files = pr.files.slice(0, 40).map((f) => `    ${printable(f.filename, 120)} | +${f.additions} -${f.deletions}`);
  const more = pr.files.length > 40 || (pr.changed_files ?? 0) > pr.files.length ? [`    … ${(pr.changed_files ?? pr.files.length) - Math.min(40, pr.files.length)} more`] : [];
  io.print(
    [
      `Pull request ${pr.owner}/${pr.repo}#${pr.number}: "${printable(pr.title)}"`,
      `  ${printable(pr.head_ref, 120)} -> ${printable(pr.base_ref, 120)}`,
      `  head ${pr.head}`,
      `  ${pr.changed_files ?? pr.files.length} file(s), +${pr.additions ?? '?'} -${pr.deletions ?? '?'}`,
      ...files,
      ...more,
      `  ${printable(pr.url, 300)}`,
      '',
      `This approves merging exactly this head, as ${io.user}. Merging still needs typecheck and tests passed here and green checks on GitHub.`,
      '',
    ].join('\n'),
  );
  const code = mergeConfirmationCode(pr.head);
  const answer = await io.ask(`Type the head's short sha (${code}) to approve: `);
  if (answer.trim() !== code) {
    await audit('refused: confirmation code not typed', pr.subject);
    io.print('Not approved.\n');
    return false;
  }
  const approval = await recordApproval(config.privateDirPath, { kind: 'merge', subject: pr.subject, approved_by: io.user, via: 'terminal' });
  await audit('granted', pr.subject, { approval: approval.id });
  io.print(`Approved (${approval.id}) for head ${pr.head.slice(0, 12)}. The agent can call git_pr_merge (or run selfscope merge ${number}); a new push needs a new approval.\n`);
  return true;
}

function pullNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new UserInputError(`"${value.slice(0, 20)}" is not a pull request number.`, { hint: 'e.g. selfscope approve --pr 48' });
  return n;
}

export function registerApprovalCommands(program: Command): void {
  program
    .command('approve')
    .description('approve, as a person at an interactive terminal, a commit with security-sensitive files (--tree) or merging a pull request at its head (--pr)')
    .option('--tree <id>', "the tree named in git_commit's refusal")
    .option('--pr <number>', 'the pull request to approve for merging, at its current head')
    .action(async (o: { tree?: string; pr?: string }, command: Command) => {
      if ((o.tree === undefined) === (o.pr === undefined)) throw new UserInputError('Give either --tree ID or --pr N.', { hint: 'selfscope approve --tree <id from git_commit> or selfscope approve --pr 48' });
      const { resolveCliConfig } = await engines();
      const config = await resolveCliConfig(command.optsWithGlobals<GlobalOptions>());
      const ok = o.tree !== undefined ? await approveTreeAtTerminal(config, o.tree, processTerminal()) : await approveMergeAtTerminal(config, pullNumber(o.pr!), processTerminal());
      if (!ok) process.exitCode = 1;
    });

  program
    .command('merge')
    .description('merge a pull request through the merge gate: its verified head, green checks, and a human approval (a GitHub review by an approver, or selfscope approve --pr)')
    .argument('<pr>', 'pull request number')
    .option('--method <method>', 'merge, squash or rebase', 'squash')
    .option('--json', 'machine-readable output')
    .action(async (pr: string, o: { method: 'merge' | 'squash' | 'rebase'; json?: boolean }, command: Command) => {
      const number = pullNumber(pr);
      const { resolveCliConfig, mergePullRequest, appendAudit } = await engines();
      const config = await resolveCliConfig(command.optsWithGlobals<GlobalOptions>());
      let result;
      try {
        // No approval is given here: a shell command is not the bot's process, and anyone's shell can run it.
        result = await mergePullRequest({ repo: config.repo, config, number, method: o.method, caller: 'selfscope merge' });
      } catch (error) {
        await appendAudit(config.privateDirPath, { kind: 'selfscope_git', event: 'git_pr_merge', tool: 'selfscope merge', outcome: 'refused', arguments: { pr: number }, details: { reason: (error as Error).message } });
        throw error;
      }
      await appendAudit(config.privateDirPath, { kind: 'selfscope_git', event: 'git_pr_merge', tool: 'selfscope merge', outcome: result.merged ? 'merged' : `refused: ${result.status}`, arguments: { pr: number }, details: { result } });
      if (o.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else process.stdout.write(result.merged ? `Merged #${number} (${result.sha.slice(0, 10)}), approved by ${result.approved_by} (${result.approved_via}).\n` : `Not merged (${result.status}): ${result.what_to_do}\n`);
      if (!result.merged) process.exitCode = 1;
    });
}
