import fs from 'node:fs';
import os from 'node:os';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../src/cli/demo/run-demo.js';
import { CLI, PACKAGE_ROOT } from '../helpers/mcp-client.js';

// The whole loop runs the example's own tsc and vitest: on a busy 2-core machine that took
// up to 35 s where an idle one takes 4 s. The limits leave room for several times that.
const DEMO_TIMEOUT_MS = 300_000;

const demoDirs = () => fs.readdirSync(os.tmpdir()).filter((n: string) => n.startsWith('selfscope-demo-'));

describe('selfscope demo', () => {
  // Whatever happens to a test (failure, timeout), no example repository outlives the file.
  let before = new Set<string>();
  let running: Promise<unknown> = Promise.resolve();
  beforeAll(() => {
    before = new Set(demoDirs());
  });
  afterAll(async () => {
    await Promise.race([running.catch(() => {}), new Promise((r) => setTimeout(r, 30_000).unref())]);
    for (const name of demoDirs()) if (!before.has(name)) fs.rmSync(`${os.tmpdir()}/${name}`, { recursive: true, force: true });
  }, 60_000);

  it('drives the whole loop and each step comes out as the loop needs', { timeout: DEMO_TIMEOUT_MS }, async () => {
    const lines: string[] = [];
    const pending = runDemo({ packageRoot: PACKAGE_ROOT, keep: true, write: (l) => lines.push(l) });
    running = pending;
    const result = await pending;
    try {
      expect(result.error).toBeNull();
      expect(result.ok).toBe(true);
      const byName = new Map(result.steps.map((s) => [s.name, s.result as Record<string, unknown>]));
      expect(result.steps.map((s) => s.name)).toEqual([
        'example bot repository',
        'selfscope serve, connected over stdio',
        'detect_anomalies',
        'log_timeline',
        'suspect_commits',
        'git_branch_create',
        'git_commit before the checks: refused (the guardrail)',
        'run_typecheck',
        'run_tests',
        'git_commit',
        'git_pr_create',
        'the bot is deployed with the fix',
        'verify_fix',
      ]);
      const anomalies = byName.get('detect_anomalies')!['anomalies'] as Array<{ rule: string; subject: Record<string, string> }>;
      expect(anomalies.some((a) => a.rule === 'error_rate' && a.subject['operation'] === 'music_queue_add')).toBe(true);
      expect(byName.get('detect_anomalies')!['state_updated']).toBe(false);
      expect((byName.get('log_timeline')!['totals'] as { errors: number }).errors).toBeGreaterThan(0);
      const suspects = byName.get('suspect_commits')!['suspects'] as Array<{ subject: string; files: string[] }>;
      expect(suspects[0]!.subject).toBe('Reset queue state when a skip interrupts a track load');
      expect(suspects[0]!.files).toContain('src/music-queue.ts');
      expect(byName.get('git_commit before the checks: refused (the guardrail)')!['refused']).toBe(true);
      expect(byName.get('run_typecheck')!['ok']).toBe(true);
      const tests = byName.get('run_tests')!;
      expect(tests['ok']).toBe(true);
      expect((tests['counts'] as { passed: number }).passed).toBe(3);
      const commit = byName.get('git_commit')!;
      expect(commit['tree']).toBeTruthy();
      expect((commit['files'] as string[]).sort()).toEqual(['src/music-queue.ts', 'test/music-queue-skip.test.ts']);
      // The commit is real, on the branch, in the example repository.
      const dir = result.dir!;
      const log = await execa('git', ['log', '-1', '--format=%H %s', String(commit['branch'])], { cwd: dir });
      expect(log.stdout).toBe(`${commit['sha']} Keep the music queue when a skip interrupts a load`);
      const pr = byName.get('git_pr_create')!;
      expect(pr['kind']).toBe('local_proposal');
      expect(fs.existsSync(String(pr['proposal_dir']))).toBe(true);
      const verdict = byName.get('verify_fix')!;
      expect(verdict['verdict']).toBe('fixed');
      expect((verdict['before'] as { failures: number }).failures).toBeGreaterThan(0);
      expect((verdict['after'] as { failures: number }).failures).toBe(0);
      // Every step was printed with its time.
      expect(lines.filter((l) => /^\[\s*\d+\.\d s\] /.test(l))).toHaveLength(result.steps.length);
    } finally {
      if (result.dir) {
        fs.rmSync(result.dir, { recursive: true, force: true });
        fs.rmSync(`${result.dir}.private`, { recursive: true, force: true });
      }
    }
  });

  it('runs as the README says, exits 0 and leaves nothing behind', { timeout: DEMO_TIMEOUT_MS }, async () => {
    const earlier = new Set(demoDirs());
    const pending = execa(process.execPath, [CLI, 'demo'], { reject: false, timeout: DEMO_TIMEOUT_MS - 10_000 });
    running = pending;
    const run = await pending;
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/verify_fix\n\s+FIXED: /);
    expect(demoDirs().filter((n) => !earlier.has(n))).toEqual([]);
  });
});
