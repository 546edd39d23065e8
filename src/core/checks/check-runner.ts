import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ConfigFile } from '../../config/schema.js';
import { ConflictError, UserInputError } from '../errors.js';
import { sanitizeUntrusted } from '../text/bounded.js';
import { recordVerificationRun, treeIdentity, type CheckName } from './attestation.js';
import { judgeTestRun, outcomeId, parseTscOutput, readTestReport, type Diagnostic, type TestCounts, type TestFailure, type TestOutcome } from './parse-results.js';
import { checkEnvironment, runProcess } from './process.js';
import { createSandboxProbe, sandboxLayout, type SandboxMode, type SandboxProbe, type SandboxSpec, type SandboxState } from './sandbox.js';
import { Slots } from './slots.js';
import { checkSubset, runArgv, selectCommand, subsetFileFromReport } from './select-command.js';
import { outcomeRecord, recordTestOutcomes, writeRunFailures, type RunFailure } from './test-outcomes.js';

export interface CheckRunOptions {
  worktree: string;
  check: CheckName;
  timeoutS?: number;
  files?: string[];
  namePattern?: string;
  rerunFailed?: boolean;
  /** Outcome ids not worth a rerun (known to fail on the base): the others are rerun first. */
  rerunSkip?: ReadonlySet<string>;
  /**
   * With rerunFailed: outcome ids that passed on the base. Those the full run did not run at
   * all (a file aborted by an error between tests, say) have their file rerun alone; one that
   * passes then is flaky, like a failure that passes when rerun.
   */
  expectPassing?: ReadonlySet<string>;
  /** The run's id when the caller names it before the run starts (a run followed in the background); from newRunId(). */
  id?: string;
  signal?: AbortSignal;
  onProgress?: (elapsedMs: number, message: string) => void;
}

export interface CheckResult {
  id: string;
  check: CheckName;
  ok: boolean;
  /** Why it is not ok, in one sentence (null when ok). */
  not_ok_reason: string | null;
  exit_code: number | null;
  duration_ms: number;
  command: string[];
  reason: string;
  counts: TestCounts | null;
  /** The first failures (every one is in the run's failures file, `failures_uri`). */
  failures: RunFailure[];
  /** Failures of the whole run, listed or not. */
  failures_total: number;
  flaky: RunFailure[];
  diagnostics: Diagnostic[];
  tree: string;
  tree_changed: boolean;
  recorded: boolean;
  timed_out: boolean;
  cancelled: boolean;
  output_tail: string;
  output_bytes: number;
  output_dropped_bytes: number;
  output_uri: string;
  /** Every failure as JSON, paged (null for a typecheck). */
  failures_uri: string | null;
  /** Whether each test's outcome was recorded (a full test run with a report). */
  outcomes_recorded: boolean;
  /** The sandbox the run had; `unavailable` runs never count for a commit. */
  sandbox: SandboxState;
  sandbox_reason: string | null;
}

export interface CheckRunnerOptions {
  /** Whether bwrap can start (default: a probe run once per runner). */
  sandboxProbe?: SandboxProbe;
  /** The user's real HOME, hidden in the sandbox (default: os.homedir()). */
  home?: string;
  /**
   * The repository root, shown read-only in the sandbox even when HOME (hidden) holds it.
   * Default: the state directory's parent when that is a git checkout (`.selfscope`).
   */
  repo?: string;
}

/** What selfscope_status shows about the sandbox. */
export interface SandboxStatus {
  mode: SandboxMode;
  available: boolean;
  reason: string | null;
  network: boolean;
}

const TAIL_BYTES = 4000;
const MAX_LISTED = 30;

/**
 * Runs a repository's own typecheck and tests and records what passed on which tree.
 * One run at a time per worktree; full output kept under <stateDir>/runs/ for the
 * `selfscope://runs/{id}` resource.
 */
/** How often a failing test is rerun alone before it counts as failing, not flaky. */
const RERUN_ATTEMPTS = 2;

/** Runs in one worktree, running and waiting: more is an agent calling faster than checks finish. */
const MAX_PER_WORKTREE = 3;

export class CheckRunner {
  private readonly running = new Map<string, Promise<unknown>>();
  private readonly perWorktree = new Map<string, number>();
  private readonly slots: Slots;

  constructor(
    private readonly checks: ConfigFile['checks'],
    private readonly stateDirPath: string,
    /** Where signed verification records go (the private directory). */
    private readonly privateDirPath: string,
    private readonly options: CheckRunnerOptions = {},
  ) {
    this.sandboxProbe = options.sandboxProbe ?? createSandboxProbe({ network: checks.network });
    this.slots = new Slots(checks.maxConcurrent);
  }

  private readonly sandboxProbe: SandboxProbe;

  /** With `off`, `available` still says whether bwrap could be turned on; the network is then the host's. */
  async sandboxStatus(): Promise<SandboxStatus> {
    const probe = await this.sandboxProbe();
    return { mode: this.checks.sandbox, available: probe.available, reason: probe.reason, network: this.checks.sandbox === 'off' || this.checks.network };
  }

  /** The sandbox for one run: hides selfscope's state, its private directory and HOME. */
  private async sandboxFor(worktree: string, reportDir: string, env: Record<string, string>): Promise<{ state: SandboxState; reason: string | null; spec: SandboxSpec | null }> {
    if (this.checks.sandbox === 'off') return { state: 'off', reason: null, spec: null };
    const probe = await this.sandboxProbe();
    if (!probe.available || !probe.bwrap) return { state: 'unavailable', reason: probe.reason ?? 'bwrap could not start', spec: null };
    const parent = path.dirname(this.stateDirPath);
    const repo = this.options.repo ?? ((await fs.stat(path.join(parent, '.git')).then(() => true, () => false)) ? parent : null);
    const layout = await sandboxLayout({
      worktree,
      repo,
      ownDirs: [this.stateDirPath, this.privateDirPath],
      home: this.options.home ?? os.homedir(),
      writable: [reportDir],
      network: this.checks.network,
      pathValue: env['PATH'],
    });
    return { state: 'bwrap', reason: null, spec: { ...layout, bwrap: probe.bwrap } };
  }

  runsDir(): string {
    return path.join(this.stateDirPath, 'runs');
  }

  async run(options: CheckRunOptions): Promise<CheckResult> {
    const key = options.worktree;
    const pending = this.perWorktree.get(key) ?? 0;
    if (pending >= MAX_PER_WORKTREE) {
      throw new ConflictError(`${pending} checks are running or waiting in this worktree already.`, {
        hint: 'Wait for their results (or follow their selfscope://runs/{id}), or cancel one; then call again.',
      });
    }
    this.perWorktree.set(key, pending + 1);
    // One run at a time in a worktree (they would share its files), and checks.maxConcurrent in all.
    const previous = this.running.get(key) ?? Promise.resolve();
    const next = previous
      .catch(() => {})
      .then(async () => {
        const release = await this.slots.acquire(options.signal);
        try {
          return await this.runNow(options);
        } finally {
          release();
        }
      });
    this.running.set(key, next);
    try {
      return await next;
    } finally {
      if (this.running.get(key) === next) this.running.delete(key);
      const left = (this.perWorktree.get(key) ?? 1) - 1;
      if (left > 0) this.perWorktree.set(key, left);
      else this.perWorktree.delete(key);
    }
  }

  private async runNow(options: CheckRunOptions): Promise<CheckResult> {
    const timeoutS = options.timeoutS ?? this.checks.timeoutS;
    if (timeoutS > this.checks.maxTimeoutS) {
      throw new UserInputError(`timeout_s ${timeoutS} is over the limit of ${this.checks.maxTimeoutS}.`, { hint: `Use at most ${this.checks.maxTimeoutS} (checks.maxTimeoutS).` });
    }
    const command = await selectCommand(options.worktree, options.check, this.checks);
    const id = options.id !== undefined && RUN_ID.test(options.id) ? options.id : newRunId();
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-check-'));
    try {
      const reportFile = path.join(tmp, options.check === 'test' ? 'report' : 'tsc.txt');
      // files and name pattern are checked before anything runs: paths inside the worktree, never options.
      const requested = await checkSubset(options.worktree, command, { ...(options.files ? { files: options.files } : {}), ...(options.namePattern !== undefined ? { namePattern: options.namePattern } : {}) });
      const { argv, report } = runArgv(command, reportFile, requested);
      const treeBefore = await treeIdentity(options.worktree);
      const startedAt = new Date();
      const env = checkEnvironment(this.checks.envAllowlist, this.checks.env);
      const sandbox = await this.sandboxFor(options.worktree, tmp, env);
      const realWorktree = await fs.realpath(options.worktree).catch(() => options.worktree);
      const ticker = options.onProgress ? setInterval(() => options.onProgress!(Date.now() - startedAt.getTime(), `${options.check} running`), 2000) : null;
      let result;
      try {
        result = await runProcess(argv, { cwd: options.worktree, env, timeoutMs: timeoutS * 1000, ...(options.signal ? { signal: options.signal } : {}), maxOutputBytes: this.checks.outputBytes, ...(sandbox.spec ? { sandbox: sandbox.spec } : {}) });
      } finally {
        if (ticker) clearInterval(ticker);
      }
      await fs.mkdir(this.runsDir(), { recursive: true, mode: 0o700 });
      await fs.writeFile(path.join(this.runsDir(), `${id}.log`), result.output, { mode: 0o600 });

      let counts: TestCounts | null = null;
      let failures: TestFailure[] = [];
      let diagnostics: Diagnostic[] = [];
      let outcomes: TestOutcome[] = [];
      // Only the report the runner wrote into this run's fresh directory counts, never the exit status alone.
      let testReport: Awaited<ReturnType<typeof readTestReport>> | null = null;
      if (options.check === 'test') {
        testReport = report === 'junit' || report === 'jest-json' ? await readTestReport(reportFile, report, undefined, realWorktree) : null;
        if (testReport && 'parsed' in testReport) {
          counts = testReport.parsed.counts;
          failures = testReport.parsed.failures;
          outcomes = testReport.parsed.outcomes;
        }
      } else {
        diagnostics = parseTscOutput(result.output);
      }

      // Reruns each failing test alone; those that pass then are flaky (and still fail the run).
      let flaky: TestFailure[] = [];
      if (options.rerunFailed && options.check === 'test' && failures.length > 0 && command.appendable && !result.timedOut && !result.cancelled) {
        const skip = options.rerunSkip;
        const worth = skip ? [...failures.filter((f) => !skip.has(outcomeId(f.file, f.name)))] : failures;
        for (const failure of worth.filter((f) => !f.name.startsWith('(')).slice(0, 10)) {
          const rerunReport = path.join(tmp, `rerun-${flaky.length}-${randomBytes(2).toString('hex')}`);
          const shortName = failure.name.split(' > ').pop()!;
          const rerunFile = failure.file ? await subsetFileFromReport(options.worktree, failure.file) : null;
          const rerunArgs = runArgv(command, rerunReport, { ...(rerunFile ? { files: [rerunFile] } : {}), namePattern: escapeRegex(shortName) });
          // Twice at most: a timing-sensitive test on a busy machine can fail alone once more.
          for (let attempt = 0; attempt < RERUN_ATTEMPTS; attempt++) {
            await fs.rm(rerunReport, { force: true });
            const rerun = await runProcess(rerunArgs.argv, { cwd: options.worktree, env, timeoutMs: timeoutS * 1000, ...(options.signal ? { signal: options.signal } : {}), maxOutputBytes: 1024 * 1024, ...(sandbox.spec ? { sandbox: sandbox.spec } : {}) });
            if (rerun.cancelled || rerun.timedOut) break;
            // Judged as a full run is: the runner's own report, read the same guarded way.
            const rerunResult = rerunArgs.report === 'junit' || rerunArgs.report === 'jest-json' ? await readTestReport(rerunReport, rerunArgs.report) : null;
            if (judgeTestRun({ exitCode: rerun.exitCode, unrecordable: command.unrecordable, report: rerunResult }) === null) {
              flaky.push(failure);
              break;
            }
          }
        }
      }

      const recovered: string[] = [];
      if (options.rerunFailed && options.expectPassing && options.check === 'test' && outcomes.length > 0 && command.appendable && !result.timedOut && !result.cancelled) {
        const ran = new Map(outcomes.map((o) => [o.id, o.status]));
        const absent = [...options.expectPassing].filter((oid) => ran.get(oid) !== 'passed' && ran.get(oid) !== 'failed');
        const files = [...new Set(absent.map((oid) => oid.slice(0, oid.indexOf(' :: '))).filter(Boolean))];
        for (const file of files.slice(0, 5)) {
          const alone = await subsetFileFromReport(options.worktree, file);
          if (!alone) continue;
          const rerunReport = path.join(tmp, `absent-${randomBytes(3).toString('hex')}`);
          const rerunArgs = runArgv(command, rerunReport, { files: [alone] });
          await runProcess(rerunArgs.argv, { cwd: options.worktree, env, timeoutMs: timeoutS * 1000, ...(options.signal ? { signal: options.signal } : {}), maxOutputBytes: 1024 * 1024, ...(sandbox.spec ? { sandbox: sandbox.spec } : {}) });
          const rerunResult = rerunArgs.report === 'junit' || rerunArgs.report === 'jest-json' ? await readTestReport(rerunReport, rerunArgs.report, undefined, realWorktree) : null;
          if (!rerunResult || !('parsed' in rerunResult)) continue;
          const passedAlone = new Set(rerunResult.parsed.outcomes.filter((o) => o.status === 'passed').map((o) => o.id));
          for (const oid of absent) {
            if (!passedAlone.has(oid)) continue;
            recovered.push(oid);
            const at = oid.indexOf(' :: ');
            flaky.push({ file: oid.slice(0, at) || null, name: oid.slice(at + 4), message: 'did not run in the full run (its file stopped early); passed when its file ran alone' });
          }
        }
      }

      const treeAfter = await treeIdentity(options.worktree);
      const treeChanged = treeAfter !== treeBefore;
      let notOk: string | null = null;
      if (result.timedOut) notOk = `timed out after ${timeoutS} s; the whole process group was killed`;
      else if (result.cancelled) notOk = 'cancelled; the whole process group was killed';
      else if (options.check === 'test') notOk = judgeTestRun({ exitCode: result.exitCode, unrecordable: command.unrecordable, report: testReport });
      else if (result.exitCode !== 0) notOk = `exited with code ${result.exitCode}`;
      if (notOk === null && treeChanged) notOk = 'the working tree changed while the check ran; run it again on a stable tree';
      if (notOk === null && flaky.length > 0) notOk = `${flaky.length} failure(s) passed on rerun (flaky)`;
      const ok = notOk === null;

      const finishedAt = new Date();
      // A subset (files, name pattern) proves nothing about the whole tree: not recorded.
      const subset = (options.files?.length ?? 0) > 0 || options.namePattern !== undefined;
      let recorded = false;
      // Test by test, a run compares with another only when its report is whole and its own.
      const comparable =
        options.check !== 'test'
          ? 'not a test run'
          : result.timedOut || result.cancelled
            ? 'the run did not finish'
            : treeChanged
              ? 'the working tree changed while it ran'
              : command.unrecordable
                ? command.unrecordable
                : !testReport || !('parsed' in testReport)
                  ? 'no usable report from the runner'
                  : counts && counts.passed + counts.failed === 0
                    ? 'no test was executed'
                    : null;
      const flakyIds = flaky.map((f) => outcomeId(f.file, f.name));
      const outcomeList = options.check === 'test' && testReport && 'parsed' in testReport && !subset ? outcomeRecord({ runId: id, tree: treeBefore, outcomes, flaky: flakyIds, comparable, finishedAt: finishedAt.toISOString() }) : null;
      if (!result.cancelled && !subset) {
        if (outcomeList) await recordTestOutcomes(this.privateDirPath, outcomeList);
        await recordVerificationRun(this.privateDirPath, {
          id,
          tree: treeBefore,
          worktree: options.worktree,
          check: options.check,
          command: argv,
          reason: command.reason,
          ok,
          exit_code: result.exitCode,
          counts,
          tree_changed: treeChanged,
          started_at: startedAt.toISOString(),
          finished_at: finishedAt.toISOString(),
          duration_ms: result.durationMs,
          sandbox: sandbox.state,
          sandbox_reason: sandbox.reason,
          outcomes: outcomeList ? { digest: outcomeList.digest, tests: outcomeList.outcomes.length } : null,
        });
        recorded = true;
      }
      const tail = sanitizeUntrusted(result.output.slice(-TAIL_BYTES), TAIL_BYTES * 2, { keepNewlines: true }).text;
      const clean = (f: TestFailure): RunFailure => ({
        ...f,
        id: sanitizeUntrusted(outcomeId(f.file, f.name), 600).text,
        message: sanitizeUntrusted(f.message, 1500, { keepNewlines: true }).text,
        name: sanitizeUntrusted(f.name, 300).text,
        ...(f.file !== null ? { file: sanitizeUntrusted(f.file, 300).text } : {}),
        ...(f.location !== undefined ? { location: sanitizeUntrusted(f.location, 400).text } : {}),
        ...(f.expected !== undefined ? { expected: sanitizeUntrusted(f.expected, 500, { keepNewlines: true }).text } : {}),
        ...(f.actual !== undefined ? { actual: sanitizeUntrusted(f.actual, 500, { keepNewlines: true }).text } : {}),
      });
      const cleaned = failures.map(clean);
      const flakySet = new Set(flakyIds);
      if (options.check === 'test') {
        // Flaky marks are known now; new and pre-existing ones once compared with a base run.
        await writeRunFailures(this.stateDirPath, { run_id: id, tree: treeBefore, failures: cleaned.map((f, i) => (flakySet.has(outcomeId(failures[i]!.file, failures[i]!.name)) ? { ...f, mark: 'flaky' as const } : f)) });
      }
      return {
        id,
        check: options.check,
        ok,
        not_ok_reason: notOk,
        exit_code: result.exitCode,
        duration_ms: result.durationMs,
        command: argv,
        reason: command.reason,
        counts,
        failures: cleaned.slice(0, MAX_LISTED),
        failures_total: failures.length,
        flaky: flaky.map(clean),
        diagnostics: diagnostics.slice(0, MAX_LISTED * 2).map((d) => ({ ...d, message: sanitizeUntrusted(d.message, 500).text, file: sanitizeUntrusted(d.file, 300).text })),
        tree: treeBefore,
        tree_changed: treeChanged,
        recorded,
        timed_out: result.timedOut,
        cancelled: result.cancelled,
        output_tail: tail,
        output_bytes: result.outputBytes,
        output_dropped_bytes: result.droppedBytes,
        output_uri: `selfscope://runs/${id}`,
        failures_uri: options.check === 'test' ? `selfscope://runs/${id}?view=failures` : null,
        outcomes_recorded: outcomeList !== null && recorded,
        sandbox: sandbox.state,
        sandbox_reason: sandbox.reason,
      };
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const RUN_ID = /^run-[a-z0-9]+-[0-9a-f]{6}$/;

/** A fresh run id, of the form `selfscope://runs/{id}` reads. */
export function newRunId(): string {
  return `run-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** The full output of a run, paged. */
export async function readRunOutput(stateDirPath: string, id: string, offset: number, length: number): Promise<{ text: string; total: number; next_offset: number | null } | null> {
  if (!/^run-[a-z0-9]+-[0-9a-f]{6}$/.test(id)) return null;
  let data: Buffer;
  try {
    data = await fs.readFile(path.join(stateDirPath, 'runs', `${id}.log`));
  } catch {
    return null;
  }
  const slice = data.subarray(offset, offset + length).toString('utf8');
  return { text: slice, total: data.length, next_offset: offset + length < data.length ? offset + length : null };
}

