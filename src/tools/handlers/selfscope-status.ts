import { discoverLogs } from '../../core/logs/discover.js';
import { TOOLSETS, type ToolHandler } from '../define-tool.js';
import fs from 'node:fs/promises';
import { getCheckRunner, getLogIndex, getWorktreeStateCache, toolWorktree } from '../../server/engines.js';
import { readByRefsAndRecords, readWorktreeState } from '../../core/checks/worktree-state.js';
import { findBase } from '../../core/checks/gate.js';
import { latestComparableRun } from '../../core/checks/test-outcomes.js';
import { UNSANDBOXED_RISKS } from '../../core/checks/sandbox.js';
import { indexingProgress } from './_shared.js';
import { humanAge, humanAgeOf, humanDuration } from '../../core/text/durations.js';
import type { inputSchema, outputSchema } from '../selfscope-status.js';
import type { VerificationRun } from '../../core/checks/attestation.js';
import { selectCommand } from '../../core/checks/select-command.js';

function summary(run: VerificationRun | null) {
  return run ? { id: run.id, ok: run.ok, finished_at: run.finished_at, command: run.command } : null;
}

async function describeCommand(worktree: string, kind: 'typecheck' | 'test', checks: Parameters<typeof selectCommand>[2]): Promise<string> {
  try {
    const c = await selectCommand(worktree, kind, checks);
    return `${c.argv.join(' ')} — ${c.reason}`;
  } catch (error) {
    return `none: ${(error as Error).message}`;
  }
}

export const handler: ToolHandler<typeof inputSchema, typeof outputSchema> = async (_input, { app, progress }) => {
  const { config, runtime } = app;
  const [{ files, skipped }, stateExists] = await Promise.all([
    discoverLogs(config.repo, config.logs),
    fs.stat(config.stateDirPath).then(
      (s) => s.isDirectory(),
      () => false,
    ),
  ]);
  const totalBytes = files.reduce((sum, f) => sum + f.bytes, 0);
  const index = await getLogIndex(app);
  await index.refresh({ onProgress: indexingProgress(progress) });
  const health = index.health().filter((h) => h.live || h.bad_lines > 0).slice(0, 20);
  // Remembered between calls while no file it depends on changed: git is not spawned then.
  const stateCache = await getWorktreeStateCache(app);
  const { worktree, branch, tree, verification } = await readWorktreeState(stateCache, {
    cwd: app.cwd,
    privateDirPath: config.privateDirPath,
    resolveWorktree: () => toolWorktree(app, undefined),
  });
  const sandbox = await (await getCheckRunner(app)).sandboxStatus();
  const sandboxed = sandbox.mode === 'bwrap' && sandbox.available;
  const commands = { typecheck: await describeCommand(worktree, 'typecheck', config.checks), test: await describeCommand(worktree, 'test', config.checks) };
  // gateStatus reads refs and records only: kept while neither moved (readByRefsAndRecords).
  const gate = await readByRefsAndRecords(
    stateCache,
    { worktree, privateDirPath: config.privateDirPath, branches: [config.git.defaultBranch ?? 'main', 'master'], remote: config.git.remote },
    () => gateStatus(worktree, config),
  );
  const structured = {
    version: app.version,
    repository: { root: config.repo, worktree: app.cwd, branch },
    configuration: {
      file: config.configFile,
      logs: config.logs,
      read_only: runtime.readOnly,
      toolsets: [...(runtime.toolsets ?? TOOLSETS)],
      transport: runtime.transport,
    },
    log_files: files.slice(0, 50).map((f) => ({ path: f.displayPath, bytes: f.bytes, modified: f.modified })),
    log_files_total: files.length,
    log_files_total_bytes: totalBytes,
    log_files_skipped: skipped.slice(0, 50),
    state_dir: { path: config.stateDirPath, exists: stateExists },
    private_dir: config.privateDirPath,
    index: {
      file: index.file,
      freshness: index.freshness(),
      files: health.map(({ stream_id: _id, bytes_read: _b, ...h }) => ({ ...h, bad_by_reason: h.bad_by_reason as Record<string, number> })),
    },
    verification: {
      worktree,
      tree,
      verified: verification?.verified ?? false,
      missing: verification?.missing ?? ['typecheck', 'test'],
      typecheck: summary(verification?.typecheck ?? null),
      test: summary(verification?.test ?? null),
      commands,
      gate,
    },
    sandbox: { ...sandbox, unsandboxed: sandboxed ? null : UNSANDBOXED_RISKS },
    autonomy: [
      'autonomous: observe logs, detect anomalies, branch in a worktree, run typecheck and tests, commit verified trees, open a PR',
      'needs a human: merging a PR; committing security-sensitive files',
      'never: committing a tree on which typecheck and tests did not both pass',
    ],
  };
  const lines = [
    `selfscope ${app.version} on ${config.repo}${branch ? ` (branch ${branch})` : ''}`,
    `config: ${config.configFile ?? 'defaults (no selfscope.config.json)'}; logs: ${config.logs.join(', ')}`,
    files.length === 0
      ? `log files: none match ${config.logs.join(', ')} — set "logs" in selfscope.config.json`
      : `log files: ${files.length} (${totalBytes} bytes)${files.length > 50 ? ', first 50 listed' : ''}`,
    ...files.slice(0, 10).map((f) => `  ${f.displayPath}  ${f.bytes} B  modified ${f.modified} (${humanAgeOf(f.modified) ?? '?'})`),
    ...(skipped.length
      ? [`log files skipped: ${skipped.length} resolve outside the repository (name an outside log directory with an absolute glob in "logs" to read it)`, ...skipped.slice(0, 10).map((s) => `  ${s.path} -> ${s.resolves_to}`)]
      : []),
    `state: ${config.stateDirPath}${stateExists ? '' : ' (not created yet)'}; private state: ${config.privateDirPath}`,
    `index: ${structuredIndexLine(index.freshness())}`,
    ...health.filter((h) => h.bad_lines > 0).map((h) => `  ${h.path}: ${h.bad_lines} bad line(s) ${JSON.stringify(h.bad_by_reason)}, first at byte ${h.first_bad_offsets.join(', ')}`),
    `worktree ${worktree}: tree ${tree ?? '(not a git tree)'} ${verification?.verified ? 'VERIFIED (typecheck and tests passed on it)' : `not verified (missing: ${(verification?.missing ?? ['typecheck', 'test']).join(', ')})`}`,
    `gate: ${gate.reason}`,
    `typecheck: ${commands.typecheck}`,
    `test: ${commands.test}`,
    sandboxed
      ? `sandbox: bwrap (state, private directory and HOME hidden; own PID namespace; network ${sandbox.network ? 'shared' : 'loopback only'})`
      : sandbox.mode === 'off'
        ? `sandbox: OFF (checks.sandbox) — ${UNSANDBOXED_RISKS}`
        : `sandbox: UNAVAILABLE (${sandbox.reason ?? 'bwrap could not start'}) — checks run unsandboxed and never count for a commit; install bubblewrap`,
    `mode: ${runtime.readOnly ? 'read-only' : 'read-write'}, toolsets ${structured.configuration.toolsets.join(',')}, tools ${runtime.allowTools ? `only ${runtime.allowTools.join(',') || '(none)'} besides core` : 'all'}${runtime.denyTools?.length ? `, denied ${runtime.denyTools.join(',')}` : ''}${runtime.narrowedBy?.length ? ` (this session narrowed by ${runtime.narrowedBy.join(', ')})` : ''}, ${runtime.transport}`,
  ];
  return { structured, text: lines.join('\n') };
};


async function gateStatus(worktree: string, config: { checks: { gate: 'strict' | 'no_new_failures' }; git: Parameters<typeof findBase>[1]; privateDirPath: string }) {
  const mode = config.checks.gate;
  const ref = await findBase(worktree, config.git).catch(() => null);
  const known = ref ? await latestComparableRun(config.privateDirPath, ref.tree).catch(() => null) : null;
  const base = ref ? { ...ref, run: known?.run.id ?? null, failing: known ? known.outcomes.outcomes.filter(([, s]) => s === 'failed').length : null } : null;
  const where = ref ? `${ref.branch} at ${ref.commit.slice(0, 12)}` : 'none found';
  const baseRun = !ref ? '' : known ? `; the base's full run ${known.run.id} is recorded (${base!.failing} failing there)` : "; the base's full run is not recorded yet";
  const reason =
    mode === 'strict'
      ? `strict (checks.gate, the default): git_commit needs typecheck and every test passed on the exact tree. Where the default branch's suite already fails on this machine (network, timing, native modules), set checks.gate to "no_new_failures"${baseRun}`
      : `no_new_failures (checks.gate): git_commit needs typecheck passed on the exact tree and no test failing there that passed on the base (${where}) or that the branch adds; pre-existing and flaky failures are listed, not blocking${ref ? (known ? baseRun : "; the base's full run is not recorded yet: the next full run_tests runs it") : '; with no base, nothing can be compared and git_commit refuses'}`;
  return { mode, reason, base };
}

function structuredIndexLine(f: { events: number; newest_event: string | null; lag_ms: number | null; mode: string; refresh_ms: number | null }): string {
  return `${f.events} events, newest ${f.newest_event ?? 'none'}${f.lag_ms !== null ? ` (${humanAge(f.lag_ms)})` : ''}, ${f.mode}${f.refresh_ms !== null ? `, last refresh ${humanDuration(f.refresh_ms)}` : ''}`;
}
