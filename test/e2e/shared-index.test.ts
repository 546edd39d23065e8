import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../helpers/mcp-client.js';
import { createTempRepo, type TempRepo } from '../helpers/temp-repo.js';
import { logLine } from '../helpers/log-lines.js';

/**
 * Several selfscope processes on one repository (agent sessions, the watcher, the CLI):
 * one index, built once, answered from by all; when its owner exits, another takes over.
 * Every process here is a real one (test/helpers/open-index.mjs over the built dist).
 */

const OPEN_INDEX = path.join(PACKAGE_ROOT, 'test', 'helpers', 'open-index.mjs');

interface Answer {
  role: 'owner' | 'client' | 'private';
  mode: 'shared' | 'private';
  file: string;
  events: number;
  ids: number;
  ms: number;
}

/** A process that holds the index open and answers one line per command. */
interface Holder {
  ready: Answer;
  ask(command: 'count' | 'refresh'): Promise<Answer>;
  close(): Promise<void>;
  kill(): Promise<void>;
}

let repo: TempRepo;
let logFile: string;
const children: ResultPromise[] = [];
const T0 = Date.parse('2026-03-13T14:00:00Z');
const line = (i: number) => logLine({ ts: new Date(T0 + i * 1000), metadata: { callId: `call_${i}` } });

async function hold(): Promise<Holder> {
  const child = execa(process.execPath, [OPEN_INDEX, repo.dir, '--hold'], { reject: false, timeout: 120_000, stdin: 'pipe' });
  children.push(child);
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`the index process ended: ${(await child).stderr}`);
    return JSON.parse(value as string) as Record<string, unknown>;
  };
  const ready = (await next())['ready'] as Answer;
  return {
    ready,
    async ask(command) {
      child.stdin!.write(`${command}\n`);
      const answer = await next();
      if (answer['error']) throw new Error(String(answer['error']));
      return answer as unknown as Answer;
    },
    async close() {
      child.stdin!.write('close\n');
      await next();
      await child;
    },
    async kill() {
      child.kill('SIGKILL');
      await child;
    },
  };
}

async function once(): Promise<Answer> {
  const r = await execa(process.execPath, [OPEN_INDEX, repo.dir], { reject: false, timeout: 120_000 });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as Answer;
}

async function privateIndexes(): Promise<string[]> {
  return (await fs.readdir(path.join(repo.dir, '.selfscope'))).filter((f) => /^index-\d+\.duckdb/.test(f));
}

beforeEach(async () => {
  repo = await createTempRepo();
  logFile = path.join(repo.dir, 'data', 'logs', 'runtime-actions.ndjson');
  await fs.mkdir(path.dirname(logFile), { recursive: true });
  await fs.writeFile(logFile, `${[0, 1, 2].map(line).join('\n')}\n`);
});
afterEach(async () => {
  for (const child of children.splice(0)) {
    child.kill('SIGKILL');
    await child;
  }
  await repo.cleanup();
});

describe('one log index per repository', () => {
  it("answers a second process from the first one's index, without a private DuckDB file", async () => {
    const owner = await hold();
    expect(owner.ready).toMatchObject({ role: 'owner', mode: 'shared', events: 3 });
    await fs.appendFile(logFile, `${line(3)}\n`);
    const second = await once();
    expect(second).toMatchObject({ role: 'client', mode: 'shared', file: owner.ready.file, events: 4, ids: 4 });
    expect(await privateIndexes()).toEqual([]);
    // The owner read the line the client's question made it read: once.
    expect(await owner.ask('count')).toMatchObject({ role: 'owner', events: 4 });
    // The socket is this user's alone.
    const ipc = path.join(repo.dir, '.selfscope', 'ipc');
    expect((await fs.stat(ipc)).mode & 0o777).toBe(0o700);
    expect((await fs.stat(path.join(ipc, 'index.sock'))).mode & 0o777).toBe(0o600);
  });

  it('lets a client take over when the owner is killed, and keep answering', async () => {
    const owner = await hold();
    const client = await hold();
    expect(client.ready).toMatchObject({ role: 'client', events: 3 });
    await owner.kill(); // no clean-up: its socket file stays behind
    await fs.appendFile(logFile, `${line(3)}\n${line(4)}\n`);
    const after = await client.ask('count');
    expect(after).toMatchObject({ role: 'owner', mode: 'shared', events: 5, ids: 5 });
    // A newcomer asks the new owner.
    expect(await once()).toMatchObject({ role: 'client', events: 5 });
    expect(await privateIndexes()).toEqual([]);
  });

  it('lets a client take over when the owner closes', async () => {
    const owner = await hold();
    const client = await hold();
    await owner.close();
    await fs.appendFile(logFile, `${line(3)}\n`);
    expect(await client.ask('refresh')).toMatchObject({ role: 'owner', events: 4, ids: 4 });
  });

  it('replaces a dead owner\'s socket file', async () => {
    const owner = await hold();
    await owner.kill();
    const socket = path.join(repo.dir, '.selfscope', 'ipc', 'index.sock');
    expect((await fs.lstat(socket)).isSocket()).toBe(true);
    const next = await hold();
    expect(next.ready).toMatchObject({ role: 'owner', events: 3 });
    expect(await once()).toMatchObject({ role: 'client', events: 3 });
  });

  it('loses no line to a copytruncate rotation between two questions', async () => {
    const owner = await hold();
    await fs.appendFile(logFile, `${line(3)}\n${line(4)}\n`); // after the last refresh
    await fs.copyFile(logFile, `${logFile}.1`); // logrotate's default name, outside data/logs/*.ndjson
    await fs.truncate(logFile, 0);
    await fs.appendFile(logFile, `${line(5)}\n`);
    expect(await once()).toMatchObject({ role: 'client', events: 6, ids: 6 });
    expect(await owner.ask('refresh')).toMatchObject({ events: 6, ids: 6 });
  });

  it('makes exactly one owner of processes that start together', async () => {
    const all = await Promise.all([hold(), hold(), hold()]);
    const roles = all.map((h) => h.ready.role).sort();
    expect(roles).toEqual(['client', 'client', 'owner']);
    for (const h of all) expect(h.ready.events).toBe(3);
    expect(await privateIndexes()).toEqual([]);
  });
});
