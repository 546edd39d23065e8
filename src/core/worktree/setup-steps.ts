import os from 'node:os';
import type { ConfigFile } from '../../config/schema.js';
import { checkEnvironment, runProcess, type ProcessResult } from '../checks/process.js';
import { createSandboxProbe, sandboxLayout, type SandboxProbe, type SandboxSpec } from '../checks/sandbox.js';
import { ConfigurationError } from '../errors.js';
import { sanitizeUntrusted } from '../text/bounded.js';
import { UNTRUSTED_DETAIL } from '../text/egress.js';

/**
 * worktree.setup: commands run in a new worktree (a UI build, an install) before it is
 * handed out. They run the repository's own code, so they run exactly like checks: through
 * the check process runner, inside the same bubblewrap sandbox (state, private directory
 * and HOME hidden, loopback only unless checks.network), with the checks' environment
 * allowlist, bounded in time and output.
 */

export type StepRunner = (argv: readonly string[], worktree: string, timeoutMs: number) => Promise<ProcessResult>;

export interface SetupStepResult {
  command: string[];
  exit_code: number | null;
  duration_ms: number;
}

const SETUP_OUTPUT_BYTES = 1024 * 1024;
const TAIL_BYTES = 2000;

export function sandboxedStepRunner(options: {
  checks: ConfigFile['checks'];
  repo: string;
  stateDirPath: string;
  privateDirPath: string;
  home?: string;
  probe?: SandboxProbe;
}): StepRunner {
  const { checks } = options;
  const probe = options.probe ?? createSandboxProbe({ network: checks.network });
  return async (argv, worktree, timeoutMs) => {
    const env = checkEnvironment(checks.envAllowlist, checks.env);
    let sandbox: SandboxSpec | undefined;
    if (checks.sandbox !== 'off') {
      const available = await probe();
      if (!available.available || !available.bwrap) {
        throw new ConfigurationError(`worktree.setup commands run only in the sandbox, and it cannot start here: ${available.reason ?? 'bwrap could not start'}.`, {
          hint: 'Install bubblewrap, or remove worktree.setup (or set checks.sandbox to "off", which runs checks and setup steps unsandboxed).',
        });
      }
      const layout = await sandboxLayout({
        worktree,
        repo: options.repo,
        ownDirs: [options.stateDirPath, options.privateDirPath],
        home: options.home ?? os.homedir(),
        writable: [],
        network: checks.network,
        pathValue: env['PATH'],
      });
      sandbox = { ...layout, bwrap: available.bwrap };
    }
    return runProcess(argv, { cwd: worktree, env, timeoutMs, maxOutputBytes: SETUP_OUTPUT_BYTES, ...(sandbox ? { sandbox } : {}) });
  };
}

/** Runs the steps in order; the first that fails stops the rest and is thrown with its output tail. */
export async function runSetupSteps(steps: readonly (readonly string[])[], worktree: string, run: StepRunner, timeoutS: number): Promise<SetupStepResult[]> {
  const done: SetupStepResult[] = [];
  for (const [i, step] of steps.entries()) {
    const result = await run(step, worktree, timeoutS * 1000);
    const ok = result.exitCode === 0 && !result.timedOut && !result.cancelled;
    if (!ok) {
      const how = result.timedOut ? `timed out after ${timeoutS} s` : result.cancelled ? 'was cancelled' : `exited with ${result.exitCode ?? result.signal}`;
      throw new ConfigurationError(`worktree.setup step ${i + 1} of ${steps.length} (${step.join(' ').slice(0, 200)}) ${how}; the worktree was not created.`, {
        hint: 'Read the output below, then fix the command in worktree.setup (or what it builds) and call git_branch_create again; setupTimeoutS raises the time limit.',
        details: {
          step: i + 1,
          command: [...step],
          exit_code: result.exitCode,
          timed_out: result.timedOut,
          output_bytes: result.outputBytes,
          [UNTRUSTED_DETAIL]: sanitizeUntrusted(result.output.slice(-TAIL_BYTES), TAIL_BYTES * 2, { keepNewlines: true }).text,
        },
      });
    }
    done.push({ command: [...step], exit_code: result.exitCode, duration_ms: result.durationMs });
  }
  return done;
}
