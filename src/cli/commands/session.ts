import { Command, InvalidArgumentError, Option } from 'commander';
import { HOOK_LAUNCH_ENV } from '../../core/session/budget.js';
import type { SessionEvent } from '../../core/session/launcher.js';
import type { GlobalOptions } from '../context.js';

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('give whole seconds, e.g. 1800');
  return n;
}

function describe(event: SessionEvent): string {
  const e = event.agent_event;
  if (!e) return `${event.type}${event.detail ? `: ${event.detail}` : ''}`;
  if (e.type === 'tool_call') return `tool ${e.tool}`;
  if (e.type === 'message' || e.type === 'error') return `${e.type}: ${(e.text ?? '').split('\n')[0]!.slice(0, 200)}`;
  return e.type;
}

/** `selfscope session`: what the bot (or the watcher's hook) runs to start a self-improvement session. */
export function registerSessionCommand(program: Command): void {
  program
    .command('session')
    .description('start Claude Code or Codex as the self-improvement agent, in a branch and worktree of its own')
    .addOption(new Option('--agent <agent>', 'the coding agent').choices(['claude-code', 'codex']).makeOptionMandatory())
    .option('--task <text>', "the task in the requester's words", '')
    .option('--anomaly <id>', `the anomaly to fix (the task becomes the fix_anomaly playbook); from the watcher's hook, default $${HOOK_LAUNCH_ENV}`)
    .option('--timeout <seconds>', 'stop the agent after this long (default 1800)', seconds)
    .option('--requested-by <user>', 'who asked (a bot user id), for the audit log')
    .option('--json', 'print events and the result as JSON lines')
    .action(async (o: { agent: 'claude-code' | 'codex'; task: string; anomaly?: string; timeout?: number; requestedBy?: string; json?: boolean }, command: Command) => {
      // Loaded here: a command loads only its own modules.
      const [{ resolveCliConfig }, { createSessionDeps }, { runSession }] = await Promise.all([import('../context.js'), import('../../core/session/launch.js'), import('../../core/session/launcher.js')]);
      const config = await resolveCliConfig(command.optsWithGlobals<GlobalOptions>());
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        // Started by the watcher's hook: its launch is counted already, and it names the anomaly.
        const hookLaunch = process.env[HOOK_LAUNCH_ENV];
        const anomalyId = o.anomaly ?? (o.task ? undefined : hookLaunch);
        const result = await runSession(
          {
            agent: o.agent,
            task: o.task,
            signal: controller.signal,
            ...(anomalyId ? { anomalyId } : {}),
            ...(o.timeout ? { timeoutS: o.timeout } : {}),
            ...(o.requestedBy ? { requestedBy: o.requestedBy } : {}),
            ...(hookLaunch ? { hookLaunch } : {}),
            onEvent: (event) => (o.json ? process.stdout.write(`${JSON.stringify(event)}\n`) : process.stderr.write(`[${event.at.slice(11, 19)}] ${describe(event)}\n`)),
          },
          createSessionDeps(config),
        );
        if (o.json) process.stdout.write(`${JSON.stringify({ type: 'result', ...result })}\n`);
        else {
          const pr = result.pr ? (result.pr.url ?? result.pr.local_proposal ?? '') : 'none';
          process.stdout.write(`${result.outcome}: ${result.summary}\nbranch ${result.branch}\nworktree ${result.worktree}\npull request ${pr}\ncost ${result.cost_usd === null ? 'unknown' : `$${result.cost_usd.toFixed(4)}`}\n`);
        }
        if (result.outcome !== 'completed') process.exitCode = 1;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
