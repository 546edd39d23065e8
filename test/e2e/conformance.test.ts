import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTempRepo, type TempRepo } from '../helpers/temp-repo.js';

const ROOT = path.resolve(__dirname, '../..');
const SCRIPT = path.join(ROOT, 'scripts', 'conformance.mjs');
const TIMEOUT_MS = 300_000;

interface Report {
  url: string;
  ok: boolean;
  scenarios: { scenario: string; checks: { id: string; status: string; errorMessage?: string }[] }[];
}

function runConformance(repo: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const xdg = process.env['XDG_STATE_HOME'];
  const child = spawn(process.execPath, [SCRIPT, '--repo', repo, '--json'], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...(xdg ? { XDG_STATE_HOME: xdg } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`the conformance run did not end within ${TIMEOUT_MS} ms: ${stderr}`));
    }, TIMEOUT_MS - 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let repo: TempRepo;
beforeAll(async () => {
  repo = await createTempRepo();
});
afterAll(async () => {
  await repo?.cleanup();
});

describe('the official MCP conformance suite (@modelcontextprotocol/conformance)', () => {
  it(
    'passes every applicable server scenario against serve --http 127.0.0.1:0 --no-auth-loopback',
    async () => {
      const { code, stdout, stderr } = await runConformance(repo.dir);
      const report = JSON.parse(stdout) as Report;
      expect(report.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
      expect(report.scenarios.map((s) => s.scenario).sort()).toEqual(
        ['dns-rebinding-protection', 'logging-set-level', 'ping', 'prompts-list', 'resources-list', 'server-initialize', 'server-sse-multiple-streams', 'tools-list'].sort(),
      );
      const notPassed = report.scenarios.flatMap((s) => s.checks.filter((c) => c.status !== 'SUCCESS').map((c) => ({ scenario: s.scenario, ...c })));
      expect(notPassed, stderr).toEqual([]);
      for (const s of report.scenarios) expect(s.checks.length).toBeGreaterThan(0);
      expect(report.ok).toBe(true);
      expect(code).toBe(0);
    },
    TIMEOUT_MS,
  );
});
