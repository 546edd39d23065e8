import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, connectStdio, PACKAGE_ROOT, type StdioSession } from '../helpers/mcp-client.js';
import { createTempRepo, type TempRepo } from '../helpers/temp-repo.js';

/**
 * Waiting for the first index of a big log: MCP progress notifications for an agent, a
 * progress bar on a terminal for a person, and nothing at all where output is for machines.
 */

let repo: TempRepo;
let logBytes: number;
let stateDirs = 0;

const hasScript = await execa('script', ['--version'], { reject: false }).then(
  (r) => r.exitCode === 0,
  () => false,
);

/** A state directory no index was built in yet: each run below starts from an empty index. */
function freshStateDir(): string {
  return path.join(repo.dir, `.selfscope-${++stateDirs}`);
}

function runCli(args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [CLI, '--state-dir', freshStateDir(), ...args], { cwd: repo.dir, reject: false, stdin: 'ignore', env: { ...process.env, ...env }, timeout: 120_000 });
}

/** Runs the CLI in a pseudo-terminal (util-linux `script`): stdout and stderr are the terminal. */
function runCliOnTerminal(args: string[]) {
  const command = [process.execPath, CLI, '--state-dir', freshStateDir(), ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return execa('script', ['-q', '-e', '-c', command, '/dev/null'], { cwd: repo.dir, reject: false, stdin: 'ignore', env: { ...process.env, TERM: 'xterm-256color' }, timeout: 120_000 });
}

beforeAll(async () => {
  repo = await createTempRepo();
  const file = path.join(repo.dir, 'data', 'logs', 'runtime-actions.ndjson');
  await fs.mkdir(path.dirname(file), { recursive: true });
  // About 16 MB: long enough to index that progress is reported while it reads.
  await execa(process.execPath, [path.join(PACKAGE_ROOT, 'bench', 'generate.mjs'), file, '--events', '24000']);
  logBytes = (await fs.stat(file)).size;
});
afterAll(async () => {
  await repo?.cleanup();
});

describe('MCP progress while a tool waits for the index', () => {
  let session: StdioSession;
  afterAll(async () => {
    await session?.close();
  });

  it('sends notifications/progress in bytes, increasing and within the total, to a client that gave a progressToken', async () => {
    session = await connectStdio(repo.dir, [], { XDG_STATE_HOME: process.env['XDG_STATE_HOME'] ?? '' });
    const notes: Progress[] = [];
    const result = (await session.client.callTool({ name: 'query_runtime_logs', arguments: { limit: 1, fields: ['kind'] } }, undefined, { onprogress: (p) => notes.push(p) })) as {
      isError?: boolean;
      structuredContent?: Record<string, unknown>;
    };
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent!['total_matched']).toBe(24_000);
    expect(notes.length).toBeGreaterThan(0);
    for (const [i, n] of notes.entries()) {
      expect(n.total).toBeDefined();
      expect(n.progress).toBeLessThanOrEqual(n.total!);
      expect(n.total).toBeLessThanOrEqual(logBytes);
      if (i > 0) expect(n.progress).toBeGreaterThan(notes[i - 1]!.progress);
      expect(n.message).toMatch(/^(indexing the log: [\d.]+ [kMG]?B of [\d.]+ [kMG]?B, [\d.]+[kM]? events\/s|indexed the log: [\d.]+ [kMG]?B, [\d.]+[kM]? events in )/);
    }
    // The last one says the index caught up with the whole file.
    expect(notes.at(-1)).toMatchObject({ progress: logBytes, total: logBytes });

    // Caught up: the next call has nothing to index and sends no progress.
    const later: Progress[] = [];
    await session.client.callTool({ name: 'query_runtime_logs', arguments: { limit: 1 } }, undefined, { onprogress: (p) => later.push(p) });
    expect(later).toEqual([]);
  });
});

describe('the CLI progress bar', () => {
  it('draws nothing when stderr is not a terminal: stderr stays empty, stdout has the result', async () => {
    const run = await runCli(['query', '--limit', '1', '--fields', 'kind']);
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^events: 1 row\(s\) of 24000 matching/);
  });

  it.skipIf(!hasScript)('draws a bar on a terminal: bytes of total, events/s, then one line of what was indexed', async () => {
    const run = await runCliOnTerminal(['query', '--limit', '1', '--fields', 'kind']);
    expect(run.exitCode).toBe(0);
    const screen = run.stdout.replace(/\r/g, '\n');
    expect(screen).toMatch(/indexing .*\d+% [\d.]+ [kMG]?B of [\d.]+ MB, [\d.]+[kM]? events\/s/);
    expect(screen).toMatch(/selfscope: indexed the log: [\d.]+ MB, 24k events in /);
    expect(screen).toMatch(/events: 1 row\(s\) of 24000 matching/);
  });

  it.skipIf(!hasScript)('draws nothing with --json, even on a terminal: the output is the JSON alone', async () => {
    const run = await runCliOnTerminal(['query', '--limit', '1', '--fields', 'kind', '--json']);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).not.toMatch(/indexing/);
    const parsed = JSON.parse(run.stdout.replace(/\r/g, '')) as Record<string, unknown>;
    expect(parsed['total_matched']).toBe(24_000);
  });
});
