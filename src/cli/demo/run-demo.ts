import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { VERSION } from '../../version.js';
import { humanDuration } from '../../core/text/durations.js';
import { createBotFixture, deployLine, postFixLog, QUEUE_FIXED, REGRESSION_TEST, type BotFixture } from './bot-fixture.js';

/**
 * The demo: the whole self-improvement loop on the example bot, driven through the real
 * MCP client against `selfscope serve` over stdio. Each step checks its outcome; a step
 * that does not come out as the loop needs stops the demo with the reason.
 */

export interface DemoStep {
  name: string;
  /** Milliseconds since the demo started, when the step finished. */
  at_ms: number;
  summary: string;
  /** The tool's structured result (or error text), for tests and --json. */
  result: unknown;
}

export interface DemoOptions {
  /** The selfscope package root (holds dist/ and node_modules/). */
  packageRoot: string;
  keep?: boolean;
  /** Where the step lines go (default: nowhere). */
  write?: (line: string) => void;
}

export interface DemoResult {
  ok: boolean;
  steps: DemoStep[];
  /** The example repository, when kept. */
  dir: string | null;
  error: string | null;
}

export class DemoStepError extends Error {}

interface ToolOutcome {
  isError: boolean;
  text: string;
  structured: Record<string, unknown>;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<ToolOutcome> {
  const res = await client.callTool({ name, arguments: args }, undefined, { timeout: 600_000 });
  const text = ((res.content ?? []) as Array<{ type: string; text?: string }>).map((c) => c.text ?? '').join('\n');
  return { isError: res.isError === true, text, structured: (res.structuredContent ?? {}) as Record<string, unknown> };
}

function expectOk(name: string, out: ToolOutcome): Record<string, unknown> {
  if (out.isError) throw new DemoStepError(`${name} failed: ${out.text}`);
  return out.structured;
}

const indent = (text: string) => text.replace(/^/gm, '           ');

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const write = options.write ?? (() => {});
  const started = Date.now();
  const steps: DemoStep[] = [];
  const step = (name: string, summary: string, result: unknown = null) => {
    const at = Date.now() - started;
    steps.push({ name, at_ms: at, summary, result });
    write(`[${(at / 1000).toFixed(1).padStart(5)} s] ${name}\n${summary ? `${indent(summary)}\n` : ''}`);
  };

  const toolchain = path.join(options.packageRoot, 'node_modules');
  const cli = path.join(options.packageRoot, 'dist', 'cli', 'main.js');
  for (const tool of ['typescript', 'vitest']) {
    const found = await fs.stat(path.join(toolchain, tool)).then(() => true, () => false);
    if (!found) {
      return { ok: false, steps, dir: null, error: `The demo's example bot needs ${tool} from selfscope's own development dependencies, not found in ${toolchain}. Run the demo from a clone of selfscope after "npm ci".` };
    }
  }

  const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-demo-')));
  const privateDir = `${dir}.private`;
  let client: Client | null = null;
  let stderr = '';
  try {
    const fixture: BotFixture = await createBotFixture(dir, toolchain);
    step('example bot repository', `${dir}\n5 commits, one of which broke the music queue; ${path.relative(dir, fixture.logFile)} holds 24 h of its runtime log, ending in the incident.`);

    client = new Client({ name: 'selfscope-demo', version: VERSION });
    // The server gets no GitHub token and no remote: the pull request is a local proposal.
    // Its private state (record key, signed records, audit log) goes beside the example,
    // outside it, and goes with it.
    const env: Record<string, string> = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? os.homedir(), SELFSCOPE_PRIVATE_DIR: privateDir };
    const transport = new StdioClientTransport({ command: process.execPath, args: [cli, 'serve', '--repo', dir], cwd: dir, env, stderr: 'pipe' });
    transport.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-8000);
    });
    await client.connect(transport);
    const { tools } = await client.listTools();
    step('selfscope serve, connected over stdio', `${client.getServerVersion()?.name} ${client.getServerVersion()?.version}: ${tools.length} tools`);

    // The log ends an hour ago (so that the lines "after the fix" can be in the past too):
    // evaluate as of its end. Ids from a past evaluation work with the other tools.
    const detect = expectOk('detect_anomalies', await call(client, 'detect_anomalies', { at: fixture.logEnd.toISOString() }));
    const anomalies = (detect['anomalies'] as Array<{ id: string; rule: string; subject: Record<string, string | null>; summary: string; samples: Array<{ id: string }> }>) ?? [];
    const incident = anomalies.find((a) => a.rule === 'error_rate' && a.subject['operation'] === 'music_queue_add');
    if (!incident) throw new DemoStepError(`detect_anomalies did not find the music queue incident; it found: ${anomalies.map((a) => `${a.rule} ${JSON.stringify(a.subject)}`).join('; ') || 'nothing'}`);
    step('detect_anomalies', anomalies.map((a) => `${a.id} ${a.rule}: ${a.summary}`).join('\n'), detect);

    const sampleId = incident.samples[0]?.id;
    if (!sampleId) throw new DemoStepError('The anomaly has no sample event.');
    const sample = expectOk('get_log_event', await call(client, 'get_log_event', { id: sampleId }));
    const sessionId = String((sample['event'] as Record<string, unknown> | undefined)?.['session_id'] ?? '');
    const timeline = expectOk('log_timeline', await call(client, 'log_timeline', { session_id: sessionId }));
    const events = (timeline['events'] as Array<Record<string, unknown>>) ?? [];
    step(
      'log_timeline',
      `voice session ${sessionId}: ${timeline['total_events']} events, ${(timeline['totals'] as { errors: number }).errors} failed\n${events
        .slice(0, 6)
        .map((e) => `${String(e['ts']).slice(11, 19)} ${e['event']} ${e['tool_name'] ?? ''} ${e['error'] ? `error: ${e['error']}` : ''}`.trimEnd())
        .join('\n')}`,
      timeline,
    );

    const suspects = expectOk('suspect_commits', await call(client, 'suspect_commits', { anomaly_id: incident.id }));
    const ranked = (suspects['suspects'] as Array<{ sha: string; subject: string; reasons: string[] }>) ?? [];
    if (ranked[0]?.sha !== fixture.culprit.sha) throw new DemoStepError(`suspect_commits did not rank the culprit first: ${ranked.map((s) => s.subject).join('; ')}`);
    step('suspect_commits', ranked.slice(0, 3).map((s, i) => `${i + 1}. ${s.sha.slice(0, 10)} ${s.subject}\n   ${s.reasons.join('; ')}`).join('\n'), suspects);

    const branch = expectOk('git_branch_create', await call(client, 'git_branch_create', { name: 'fix-music-queue-skip' }));
    const worktree = String(branch['worktree']);
    step('git_branch_create', `${branch['branch']} in ${worktree}`, branch);

    await fs.writeFile(path.join(worktree, 'src', 'music-queue.ts'), QUEUE_FIXED);
    await fs.writeFile(path.join(worktree, 'test', 'music-queue-skip.test.ts'), REGRESSION_TEST);
    const early = await call(client, 'git_commit', { worktree, message: 'Keep the music queue when a skip interrupts a load' });
    if (!early.isError) throw new DemoStepError('git_commit accepted a change that was never tested: the guardrail is broken.');
    step('git_commit before the checks: refused (the guardrail)', `the fix (a prepared patch in place of an agent's edit) and a regression test are in the worktree\n${early.text.split('\n').slice(0, 3).join('\n')}`, { refused: true, text: early.text });

    const typecheck = expectOk('run_typecheck', await call(client, 'run_typecheck', { worktree }));
    if (typecheck['ok'] !== true) throw new DemoStepError(`run_typecheck did not pass: ${typecheck['not_ok_reason']}`);
    step('run_typecheck', `${(typecheck['command'] as string[]).join(' ')}: passed in ${humanDuration(Number(typecheck['duration_ms']))}`, typecheck);
    const tests = expectOk('run_tests', await call(client, 'run_tests', { worktree }));
    const counts = tests['counts'] as { passed: number; total: number } | null;
    if (tests['ok'] !== true) throw new DemoStepError(`run_tests did not pass: ${tests['not_ok_reason']}`);
    step('run_tests', `${(tests['command'] as string[]).join(' ')}: ${counts?.passed}/${counts?.total} passed in ${humanDuration(Number(tests['duration_ms']))}, recorded for tree ${String(tests['tree']).slice(0, 12)}`, tests);

    const commit = expectOk('git_commit', await call(client, 'git_commit', { worktree, message: 'Keep the music queue when a skip interrupts a load\n\nA skip during a track load dropped the whole queue state, so every later music_queue_add failed with "queue state undefined". Cancel the load instead.' }));
    step('git_commit', `${String(commit['sha']).slice(0, 10)} on ${commit['branch']}: ${(commit['files'] as string[]).join(', ')}`, commit);

    const pr = expectOk('git_pr_create', await call(client, 'git_pr_create', { worktree, title: 'Keep the music queue when a skip interrupts a load', summary: 'Skipping while a track loads dropped the queue state; music_queue_add then failed for everyone in the guild.', anomaly_id: incident.id }));
    step('git_pr_create', pr['kind'] === 'local_proposal' ? `a local proposal in ${pr['proposal_dir']}\n(nothing pushed: ${pr['local_reason']}; with a token and a GitHub repository it pushes the branch and opens the pull request; merging waits for a human)` : String(pr['url']), pr);

    // The bot after the fix is deployed: a deploy event, then an hour of healthy traffic.
    const deployAt = new Date(fixture.logEnd.getTime() + 60_000);
    await fs.appendFile(fixture.logFile, deployLine(deployAt, String(commit['sha'])) + postFixLog(new Date(deployAt.getTime() + 1000), 55));
    const deploy = expectOk('query_runtime_logs', await call(client, 'query_runtime_logs', { event: 'deploy_completed', limit: 1 }));
    const deployId = String(((deploy['rows'] as Array<Record<string, unknown>>)[0] ?? {})['id'] ?? '');
    if (!deployId) throw new DemoStepError('The deploy event is not in the log index.');
    step('the bot is deployed with the fix', `new log lines: deploy_completed (${deployId}) and 55 minutes of traffic`, deploy);

    const verdict = expectOk('verify_fix', await call(client, 'verify_fix', { anomaly_id: incident.id, event_id: deployId }));
    if (verdict['verdict'] !== 'fixed') throw new DemoStepError(`verify_fix says ${verdict['verdict']}: ${verdict['explanation']}`);
    step('verify_fix', `${String(verdict['verdict']).toUpperCase()}: ${verdict['explanation']}`, verdict);

    write(
      [
        '',
        `The loop ran in ${humanDuration(Date.now() - started)}. Point your own client at selfscope in a repository:`,
        `  Claude Code:     claude mcp add selfscope -- node ${cli} serve   (in the repository; or selfscope init writes .mcp.json)`,
        `  Codex:           selfscope init prints the [mcp_servers.selfscope] block for ~/.codex/config.toml`,
        `  MCP Inspector:   npx @modelcontextprotocol/inspector@0.16.8 node ${cli} serve --repo <repository>`,
        options.keep ? `  This example:    ${dir} (kept; serve it with SELFSCOPE_PRIVATE_DIR=${privateDir} selfscope serve --repo ${dir})` : '  Run with --keep to keep this example repository and serve it yourself.',
        '',
      ].join('\n'),
    );
    return { ok: true, steps, dir: options.keep ? dir : null, error: null };
  } catch (error) {
    const message = error instanceof DemoStepError ? error.message : `${(error as Error).message}${stderr ? `\nserver stderr (last lines):\n${stderr.split('\n').slice(-10).join('\n')}` : ''}`;
    return { ok: false, steps, dir: options.keep ? dir : null, error: message };
  } finally {
    await client?.close().catch(() => {});
    if (!options.keep) {
      await fs.rm(dir, { recursive: true, force: true }).catch(() => {});
      await fs.rm(privateDir, { recursive: true, force: true }).catch(() => {});
    }
  }
}
