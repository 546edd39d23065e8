import fs from 'node:fs';
import os from 'node:os';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/cli/demo/run-demo.js';
import { CLI, PACKAGE_ROOT } from '../helpers/mcp-client.js';

describe('selfscope demo', () => {
  it('drives the whole loop and each step comes out as the loop needs', async () => {
    const lines: string[] = [];
    const result = await runDemo({ packageRoot: PACKAGE_ROOT, keep: true, write: (l) => lines.push(l) });
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
      if (result.dir) fs.rmSync(result.dir, { recursive: true, force: true });
    }
  });

  it('runs as the README says, exits 0 and leaves nothing behind', async () => {
    const before = new Set(fs.readdirSync(os.tmpdir()).filter((n: string) => n.startsWith('selfscope-demo-')));
    const run = await execa(process.execPath, [CLI, 'demo'], { reject: false });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/verify_fix\n\s+FIXED: /);
    const after = fs.readdirSync(os.tmpdir()).filter((n: string) => n.startsWith('selfscope-demo-') && !before.has(n));
    expect(after).toEqual([]);
  });
});
