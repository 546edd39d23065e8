import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configFileSchema } from '../../../src/config/schema.js';
import { verificationFor } from '../../../src/core/checks/attestation.js';
import { CheckRunner, readRunOutput, type CheckResult, type CheckRunnerOptions } from '../../../src/core/checks/check-runner.js';
import { checkEnvironment, runProcess } from '../../../src/core/checks/process.js';
import { bwrapArguments, createSandboxProbe, sandboxLayout, SANDBOX_HOME, type SandboxLayout } from '../../../src/core/checks/sandbox.js';
import { ConfigurationError } from '../../../src/core/errors.js';
import { fixtureProject } from '../../helpers/fixture-project.js';
import { PACKAGE_ROOT } from '../../helpers/mcp-client.js';
import { git } from '../../helpers/temp-repo.js';

/**
 * The sandbox against a hostile agent: real bwrap, real vitest on fixture projects, test
 * files that try to read the record key, forge state, outlive the run and reach the host.
 */

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

// Under /var/tmp, which the sandbox's read-only view of / shows (its /tmp is a fresh
// tmpfs): what is hidden there is hidden by the sandbox's layout, not by chance.
async function visibleDir(prefix: string): Promise<string> {
  const dir = await fs.realpath(await fs.mkdtemp(path.join('/var/tmp', prefix)));
  cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

interface Setup {
  repo: string;
  stateDir: string;
  privateDir: string;
  keyFile: string;
  key: Buffer;
}

async function setup(files: Record<string, string>): Promise<Setup> {
  const repo = await fixtureProject(files);
  cleanups.push(repo.cleanup);
  const privateDir = await visibleDir('selfscope-private-');
  const keyFile = path.join(privateDir, 'record-key');
  const key = randomBytes(32);
  await fs.writeFile(keyFile, key, { mode: 0o600 });
  return { repo: repo.dir, stateDir: path.join(repo.dir, '.selfscope'), privateDir, keyFile, key };
}

function runner(s: Setup, checks: Record<string, unknown> = {}, options: CheckRunnerOptions = {}): CheckRunner {
  return new CheckRunner(configFileSchema.parse({ checks }).checks, s.stateDir, s.privateDir, options);
}

async function output(s: Setup, r: CheckResult): Promise<string> {
  return (await readRunOutput(s.stateDir, r.id, 0, 4_000_000))!.text;
}

/** The JSON a probe printed on its `PROBE ` line. */
async function probed(s: Setup, r: CheckResult): Promise<Record<string, unknown>> {
  const text = await output(s, r);
  const line = text.split('\n').find((l) => l.startsWith('PROBE '));
  expect(line, text).toBeDefined();
  return JSON.parse(line!.slice('PROBE '.length)) as Record<string, unknown>;
}

/** Whether any process on the host has `marker` in its command line. */
async function processWith(marker: string): Promise<boolean> {
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(marker)) return true;
  }
  return false;
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const ATTEMPT = `const attempt = (f) => { try { return f(); } catch (e) { return e.code ?? String(e); } };\n`;

// vitest finds the probe only through this configuration: a run that finds it proves the
// config (bundled by vite into node_modules/.vite-temp, read-only in the sandbox) loaded.
const VITEST_CONFIG = `import { defineConfig } from 'vitest/config';\nconst include: string[] = ['checks/**/*.check.js'];\nexport default defineConfig({ test: { include } });\n`;
const PKG = JSON.stringify({ name: 'fixture', type: 'module', scripts: { test: 'vitest run' } });

function hostileTest(p: { repo: string; keyFile: string; privateDir: string; stateDir: string; other: string; publicFile: string }): string {
  const j = JSON.stringify;
  return `import { it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
${ATTEMPT}
it('reads and forges what it can', () => {
  const found = {
    key: attempt(() => fs.readFileSync(${j(p.keyFile)}, 'hex')),
    privateDir: attempt(() => fs.readdirSync(${j(p.privateDir)})),
    runs: attempt(() => fs.readdirSync(${j(path.join(p.stateDir, 'runs'))})),
    other: attempt(() => fs.readFileSync(${j(p.other)}, 'utf8')),
    public: attempt(() => fs.readFileSync(${j(p.publicFile)}, 'utf8')),
    forgeState: attempt(() => { fs.mkdirSync(${j(path.join(p.stateDir, 'approvals'))}, { recursive: true }); fs.writeFileSync(${j(path.join(p.stateDir, 'approvals', 'forged.json'))}, '{}'); return 'written'; }),
    forgeKey: attempt(() => { fs.writeFileSync(${j(p.keyFile)}, 'forged'); return 'written'; }),
    outside: attempt(() => { fs.writeFileSync(${j(path.join(path.dirname(p.publicFile), 'forged.txt'))}, 'x'); return 'written'; }),
    plantHook: attempt(() => { fs.writeFileSync(${j(path.join(p.repo, '.git', 'hooks', 'post-checkout'))}, '#!/bin/sh\\ntouch /tmp/pwned\\n', { mode: 0o755 }); return 'written'; }),
    hostProcess: attempt(() => { process.kill(${process.pid}, 0); return 'alive'; }),
    unmount: attempt(() => { execFileSync('umount', [${j(p.privateDir)}], { stdio: 'pipe' }); return 'unmounted: ' + fs.readFileSync(${j(p.keyFile)}, 'hex'); }),
    home: process.env.HOME,
    homedir: os.homedir(),
  };
  console.log('PROBE ' + JSON.stringify(found));
});
`;
}

describe('a hostile test file in the sandbox', () => {
  async function hostileSetup(): Promise<Setup & { publicFile: string; other: string }> {
    const s = await setup({ 'package.json': PKG, 'vitest.config.ts': VITEST_CONFIG });
    const publicDir = await visibleDir('selfscope-public-');
    const publicFile = path.join(publicDir, 'public.txt');
    await fs.writeFile(publicFile, 'public\n');
    // What an earlier run and another agent's worktree left in the state directory.
    await fs.mkdir(path.join(s.stateDir, 'runs'), { recursive: true });
    await fs.writeFile(path.join(s.stateDir, 'runs', 'run-earlier.log'), 'earlier output\n');
    const other = path.join(s.stateDir, 'worktrees', 'other', 'secret.txt');
    await fs.mkdir(path.dirname(other), { recursive: true });
    await fs.writeFile(other, 'another worktree\n');
    return { ...s, publicFile, other };
  }

  async function expectContained(s: Setup & { publicFile: string; other: string }, r: CheckResult): Promise<void> {
    const found = await probed(s, r);
    expect(r.sandbox).toBe('bwrap');
    expect(r.ok, await output(s, r)).toBe(true);
    expect(found).toMatchObject({
      key: 'ENOENT',
      privateDir: [],
      runs: 'ENOENT',
      other: 'ENOENT',
      public: 'public\n', // the rest of the file system is there, read-only
      forgeState: 'written', // into the sandbox's throwaway tmpfs...
      forgeKey: 'written',
      outside: 'EROFS',
      plantHook: 'EROFS', // the main checkout's git directory is read-only, even when it is the worktree
      hostProcess: 'ESRCH',
      home: SANDBOX_HOME,
      homedir: SANDBOX_HOME,
    });
    expect(String(found['unmount'])).not.toMatch(/^unmounted/); // no capabilities to undo the layout
    // ...and nothing of it reached the host.
    expect(await fs.readFile(s.keyFile)).toEqual(s.key);
    await expect(fs.stat(path.join(s.stateDir, 'approvals', 'forged.json'))).rejects.toThrow(/ENOENT/);
    await expect(fs.stat(path.join(path.dirname(s.publicFile), 'forged.txt'))).rejects.toThrow(/ENOENT/);
    await expect(fs.stat(path.join(s.repo, '.git', 'hooks', 'post-checkout'))).rejects.toThrow(/ENOENT/);
    expect(await fs.readFile(s.other, 'utf8')).toBe('another worktree\n');
  }

  it('in the repository root: the state directory inside it, the private directory and HOME are hidden', async () => {
    const s = await hostileSetup();
    await fs.mkdir(path.join(s.repo, 'checks'), { recursive: true });
    await fs.writeFile(path.join(s.repo, 'checks', 'hostile.check.js'), hostileTest(s));
    const r = await runner(s).run({ worktree: s.repo, check: 'test' });
    await expectContained(s, r);
    expect(r.counts).toMatchObject({ passed: 1, total: 1 });
    expect(os.homedir()).not.toBe(SANDBOX_HOME);
  }, 120_000);

  it('in a worktree under the state directory: bound back over the hidden state, other worktrees stay hidden', async () => {
    const s = await hostileSetup();
    const worktree = path.join(s.stateDir, 'worktrees', 'mine');
    await git(s.repo, ['worktree', 'add', '-q', '-b', 'mine', worktree]);
    // As git_branch_create does: the main checkout's node_modules, read-only in the sandbox.
    await fs.symlink(path.join(s.repo, 'node_modules'), path.join(worktree, 'node_modules'), 'dir');
    await fs.mkdir(path.join(worktree, 'checks'), { recursive: true });
    await fs.writeFile(path.join(worktree, 'checks', 'hostile.check.js'), hostileTest(s));
    const r = await runner(s).run({ worktree, check: 'test' });
    await expectContained(s, r);
    expect(r.counts).toMatchObject({ passed: 1, total: 1 });
  }, 120_000);

  it('with checks.sandbox "off" the same test file reads the key: what the opt-out gives up, accepted by the gate', async () => {
    const s = await hostileSetup();
    await fs.mkdir(path.join(s.repo, 'checks'), { recursive: true });
    await fs.writeFile(path.join(s.repo, 'checks', 'hostile.check.js'), hostileTest(s));
    const r = await runner(s, { sandbox: 'off' }).run({ worktree: s.repo, check: 'test' });
    expect(r.sandbox).toBe('off');
    expect(r.sandbox_reason).toBeNull();
    const found = await probed(s, r);
    expect(found['key']).toBe(s.key.toString('hex'));
    expect(found['other']).toBe('another worktree\n');
    const v = await verificationFor(s.privateDir, r.tree);
    expect(v.test?.sandbox).toBe('off');
    expect(v.missing).toEqual(['typecheck']);
  }, 120_000);
});

describe('processes that try to outlive the run', () => {
  it('a setsid daemon started by a vitest test dies with the run; the next check runs', async () => {
    const marker = `selfscope-daemon-${process.pid}-${randomBytes(4).toString('hex')}`;
    const s = await setup({
      'package.json': JSON.stringify({ name: 'fixture', type: 'module', scripts: { test: 'vitest run' } }),
      'test/daemon.test.js': `import { it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
it('leaves a daemon behind', async () => {
  spawn('setsid', ['sh', '-c', 'sleep 300; : ${marker}'], { detached: true, stdio: 'ignore' }).unref();
  // Waits for the host to have seen the daemon (bounded), so the test proves it existed.
  const deadline = Date.now() + 60_000;
  while (!fs.existsSync('ignored/seen') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}, 90_000);
`,
    });
    const r1 = runner(s);
    const running = r1.run({ worktree: s.repo, check: 'test' });
    expect(await until(() => processWith(marker), 60_000)).toBe(true);
    await fs.mkdir(path.join(s.repo, 'ignored'), { recursive: true });
    await fs.writeFile(path.join(s.repo, 'ignored', 'seen'), '');
    const r = await running;
    expect(r.ok, await output(s, r)).toBe(true);
    expect(r.sandbox).toBe('bwrap');
    expect(await until(async () => !(await processWith(marker)), 10_000)).toBe(true);
    const again = await r1.run({ worktree: s.repo, check: 'test' });
    expect(again.ok).toBe(true);
    expect(again.counts).toMatchObject({ passed: 1 });
    expect(await until(async () => !(await processWith(marker)), 10_000)).toBe(true);
  }, 180_000);

  async function hangSetup(marker: string): Promise<Setup> {
    return setup({
      'hang.mjs': `import { spawn } from 'node:child_process';\nspawn('setsid', ['sh', '-c', 'sleep 300; : ${marker}'], { detached: true, stdio: 'ignore' }).unref();\nsetInterval(() => {}, 1000);\n`,
      'ok.test.mjs': `import test from 'node:test';\ntest('runs', () => {});\n`,
    });
  }

  it('at the timeout, the kill reaches a setsid daemon too', async () => {
    const marker = `selfscope-timeout-${process.pid}-${randomBytes(4).toString('hex')}`;
    const s = await hangSetup(marker);
    const running = runner(s, { test: ['node', 'hang.mjs'] }).run({ worktree: s.repo, check: 'test', timeoutS: 15 });
    expect(await until(() => processWith(marker), 15_000)).toBe(true);
    const r = await running;
    expect(r.timed_out).toBe(true);
    expect(r.ok).toBe(false);
    expect(await until(async () => !(await processWith(marker)), 10_000)).toBe(true);
    const next = await runner(s, { test: ['node', '--test'] }).run({ worktree: s.repo, check: 'test' });
    expect(next.ok, await output(s, next)).toBe(true);
    expect(next.counts).toMatchObject({ passed: 1 });
  }, 120_000);

  it('on cancel, the kill reaches a setsid daemon too', async () => {
    const marker = `selfscope-cancel-${process.pid}-${randomBytes(4).toString('hex')}`;
    const s = await hangSetup(marker);
    const controller = new AbortController();
    const running = runner(s, { test: ['node', 'hang.mjs'] }).run({ worktree: s.repo, check: 'test', timeoutS: 120, signal: controller.signal });
    expect(await until(() => processWith(marker), 60_000)).toBe(true);
    controller.abort();
    const r = await running;
    expect(r.cancelled).toBe(true);
    expect(await until(async () => !(await processWith(marker)), 10_000)).toBe(true);
  }, 120_000);
});

describe('a repository inside HOME', () => {
  it('is shown read-only to its worktrees (node_modules, git), while the rest of HOME and the state stay hidden', async () => {
    const home = await visibleDir('selfscope-home-');
    await fs.writeFile(path.join(home, '.npmrc'), '//registry.npmjs.org/:_authToken=secret\n');
    const repo = path.join(home, 'bot');
    await fs.mkdir(path.join(repo, 'checks'), { recursive: true });
    await fs.writeFile(path.join(repo, '.gitignore'), 'node_modules\n.selfscope/\n');
    await fs.writeFile(path.join(repo, 'package.json'), PKG);
    await fs.writeFile(path.join(repo, 'vitest.config.ts'), VITEST_CONFIG);
    const j = JSON.stringify;
    await fs.writeFile(
      path.join(repo, 'checks', 'home.check.js'),
      `import { it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
${ATTEMPT}
it('sees the repository, not HOME', () => {
  const found = {
    npmrc: attempt(() => fs.readFileSync(${j(path.join(home, '.npmrc'))}, 'utf8')),
    state: attempt(() => fs.readdirSync(${j(path.join(repo, '.selfscope'))})),
    git: attempt(() => execFileSync('git', ['log', '--format=%s', '-1'], { encoding: 'utf8' }).trim()),
  };
  console.log('PROBE ' + JSON.stringify(found));
});
`,
    );
    await git(repo, ['init', '-q', '-b', 'main']);
    await git(repo, ['add', '-A']);
    await git(repo, ['commit', '-q', '-m', 'bot in home']);
    await fs.symlink(path.join(PACKAGE_ROOT, 'node_modules'), path.join(repo, 'node_modules'), 'dir');
    const stateDir = path.join(repo, '.selfscope');
    const worktree = path.join(stateDir, 'worktrees', 'mine');
    await git(repo, ['worktree', 'add', '-q', '-b', 'mine', worktree]);
    await fs.symlink(path.join(repo, 'node_modules'), path.join(worktree, 'node_modules'), 'dir');
    const privateDir = await visibleDir('selfscope-private-');
    const s: Setup = { repo, stateDir, privateDir, keyFile: path.join(privateDir, 'record-key'), key: Buffer.alloc(0) };
    const r = await runner(s, {}, { home }).run({ worktree, check: 'test' });
    expect(r.ok, await output(s, r)).toBe(true);
    expect(r.counts).toMatchObject({ passed: 1, total: 1 });
    // The state directory shows only the mount point of this worktree.
    expect(await probed(s, r)).toEqual({ npmrc: 'ENOENT', state: ['worktrees'], git: 'bot in home' });
  }, 120_000);
});

describe('network', () => {
  const netProbe = (port: number) => `import net from 'node:net';
const attempt = (port) => new Promise((resolve) => {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.setTimeout(15_000);
  socket.on('connect', () => { socket.destroy(); resolve('connected'); });
  socket.on('error', (e) => resolve(e.code));
  socket.on('timeout', () => { socket.destroy(); resolve('timeout'); });
});
const inside = await new Promise((resolve) => {
  const server = net.createServer((c) => c.end());
  server.listen(0, '127.0.0.1', async () => { const r = await attempt(server.address().port); server.close(); resolve(r); });
});
console.log('PROBE ' + JSON.stringify({ inside, host: await attempt(${port}) }));
`;

  async function hostServer(): Promise<{ port: number; connections: () => number }> {
    let count = 0;
    const server = net.createServer((socket) => {
      count++;
      socket.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    return { port: (server.address() as net.AddressInfo).port, connections: () => count };
  }

  it('a test cannot reach a server on the host loopback; its own loopback works', async () => {
    const server = await hostServer();
    const s = await setup({ 'net.mjs': netProbe(server.port) });
    const r = await runner(s, { test: ['node', 'net.mjs'] }).run({ worktree: s.repo, check: 'test' });
    expect(await probed(s, r)).toEqual({ inside: 'connected', host: 'ECONNREFUSED' });
    expect(server.connections()).toBe(0);
  }, 120_000);

  it('checks.network: true shares the host network', async () => {
    const server = await hostServer();
    const s = await setup({ 'net.mjs': netProbe(server.port) });
    const r = await runner(s, { test: ['node', 'net.mjs'], network: true }).run({ worktree: s.repo, check: 'test' });
    expect(r.sandbox).toBe('bwrap');
    expect(await probed(s, r)).toEqual({ inside: 'connected', host: 'connected' });
    expect(server.connections()).toBe(1);
  }, 120_000);
});

describe('HOME', () => {
  it('is a fresh one; the real HOME is hidden, its toolchains on PATH still run', async () => {
    const home = await visibleDir('selfscope-home-');
    await fs.writeFile(path.join(home, '.npmrc'), '//registry.npmjs.org/:_authToken=secret\n');
    await fs.mkdir(path.join(home, 'bin'));
    await fs.writeFile(path.join(home, 'bin', 'home-tool'), '#!/bin/sh\necho HOME-TOOL\n', { mode: 0o755 });
    // nvm's layout: bin/ holds links into lib/node_modules/<package>.
    const prefix = path.join(home, '.nvm', 'versions', 'node', 'v0');
    await fs.mkdir(path.join(prefix, 'bin'), { recursive: true });
    await fs.mkdir(path.join(prefix, 'lib', 'node_modules', 'nvm-tool', 'bin'), { recursive: true });
    await fs.writeFile(path.join(prefix, 'lib', 'node_modules', 'nvm-tool', 'package.json'), '{"name":"nvm-tool"}');
    await fs.writeFile(path.join(prefix, 'lib', 'node_modules', 'nvm-tool', 'bin', 'cli.sh'), '#!/bin/sh\necho NVM-TOOL\n', { mode: 0o755 });
    await fs.symlink('../lib/node_modules/nvm-tool/bin/cli.sh', path.join(prefix, 'bin', 'nvm-tool'));
    const j = JSON.stringify;
    const s = await setup({
      'home.mjs': `import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
${ATTEMPT}
console.log('PROBE ' + JSON.stringify({
  home: process.env.HOME,
  tmpdir: process.env.TMPDIR,
  npmrc: attempt(() => fs.readFileSync(${j(path.join(home, '.npmrc'))}, 'utf8')),
  listing: attempt(() => fs.readdirSync(${j(home)}).sort()),
  tool: attempt(() => execFileSync('home-tool', { encoding: 'utf8' }).trim()),
  nvm: attempt(() => execFileSync('nvm-tool', { encoding: 'utf8' }).trim()),
  writeHome: attempt(() => { fs.writeFileSync(os.homedir() + '/x', 'x'); return 'written'; }),
}));
`,
    });
    const PATH = `${home}/bin:${prefix}/bin:${process.env['PATH']}`;
    const r = await runner(s, { test: ['node', 'home.mjs'], env: { PATH } }, { home }).run({ worktree: s.repo, check: 'test' });
    expect(await probed(s, r)).toEqual({
      home: SANDBOX_HOME,
      tmpdir: '/tmp',
      npmrc: 'ENOENT',
      listing: ['.nvm', 'bin'], // mount points of the re-exposed toolchain only
      tool: 'HOME-TOOL',
      nvm: 'NVM-TOOL',
      writeHome: 'written',
    });
    await expect(fs.stat(path.join(home, 'x'))).rejects.toThrow(/ENOENT/);
  }, 120_000);
});

describe('when bwrap cannot start', () => {
  const passing = { 'package.json': PKG, 'vitest.config.ts': VITEST_CONFIG, 'checks/a.check.js': `import { it, expect } from 'vitest';\nit('adds', () => expect(1 + 1).toBe(2));\n`, 'tsconfig.json': JSON.stringify({ compilerOptions: { strict: true, noEmit: true, skipLibCheck: true, types: [] }, include: ['src'] }), 'src/a.ts': 'export const a: number = 1;\n' };

  it('runs the checks unsandboxed, says so, and the gate does not count them', async () => {
    const s = await setup(passing);
    const r = runner(s, {}, { sandboxProbe: createSandboxProbe({ network: false, pathValue: '/nonexistent' }) });
    expect(await r.sandboxStatus()).toEqual({ mode: 'bwrap', available: false, reason: expect.stringMatching(/bwrap.*not installed/), network: false });
    const tc = await r.run({ worktree: s.repo, check: 'typecheck' });
    const t = await r.run({ worktree: s.repo, check: 'test' });
    for (const result of [tc, t]) {
      expect(result.ok).toBe(true);
      expect(result.recorded).toBe(true);
      expect(result.sandbox).toBe('unavailable');
      expect(result.sandbox_reason).toMatch(/not installed/);
    }
    const v = await verificationFor(s.privateDir, t.tree);
    expect(v.test).toMatchObject({ ok: true, sandbox: 'unavailable' });
    expect(v.verified).toBe(false);
    expect(v.missing).toEqual(['typecheck', 'test']);
    expect(v.reasons.test).toMatch(/outside the sandbox/);
    // The same tree, sandboxed this time, does count.
    const sandboxed = runner(s);
    await sandboxed.run({ worktree: s.repo, check: 'typecheck' });
    await sandboxed.run({ worktree: s.repo, check: 'test' });
    expect((await verificationFor(s.privateDir, t.tree)).verified).toBe(true);
  }, 180_000);

  it('reports why the probe failed', async () => {
    const dir = await visibleDir('selfscope-fake-bwrap-');
    await fs.writeFile(path.join(dir, 'bwrap'), '#!/bin/sh\necho "bwrap: No permissions to create new namespace" >&2\nexit 1\n', { mode: 0o755 });
    const s = await setup({ 'ok.test.mjs': `import test from 'node:test';\ntest('runs', () => {});\n` });
    const r = runner(s, { test: ['node', '--test'] }, { sandboxProbe: createSandboxProbe({ network: false, pathValue: dir }) });
    expect((await r.sandboxStatus()).reason).toBe('bwrap could not start a sandbox (exit 1): bwrap: No permissions to create new namespace');
    const result = await r.run({ worktree: s.repo, check: 'test' });
    expect(result).toMatchObject({ ok: true, sandbox: 'unavailable', sandbox_reason: expect.stringMatching(/No permissions/) });
  }, 60_000);

  it('a probe that succeeds says so', async () => {
    const s = await setup({});
    expect(await runner(s).sandboxStatus()).toEqual({ mode: 'bwrap', available: true, reason: null, network: false });
    expect(await runner(s, { sandbox: 'off' }).sandboxStatus()).toMatchObject({ mode: 'off', network: true });
  }, 60_000);
});

describe('inside the sandbox', () => {
  it('a missing command still says it is not installed', async () => {
    const s = await setup({});
    const probe = await createSandboxProbe({ network: false })();
    const layout = await sandboxLayout({ worktree: s.repo, ownDirs: [s.stateDir, s.privateDir], home: os.homedir(), writable: [], network: false, pathValue: process.env['PATH'] });
    const error = await runProcess(['selfscope-no-such-command'], {
      cwd: s.repo,
      env: checkEnvironment(['PATH'], {}),
      timeoutMs: 60_000,
      maxOutputBytes: 65_536,
      sandbox: { ...layout, bwrap: probe.bwrap! },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).message).toBe('"selfscope-no-such-command" is not installed or not on PATH.');
  }, 60_000);
});

describe('the sandbox layout', () => {
  it('shows read-only where a worktree\'s package links lead under /tmp (a checkout or a store there), each node_modules once', async () => {
    const root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-links-')));
    try {
      const store = path.join(root, 'store', 'node_modules');
      for (const pkg of ['typescript', '@scope/tool']) await fs.mkdir(path.join(store, pkg), { recursive: true });
      const worktree = path.join(root, 'wt');
      await fs.mkdir(path.join(worktree, 'node_modules', '@scope'), { recursive: true });
      await fs.symlink(path.join(store, 'typescript'), path.join(worktree, 'node_modules', 'typescript'));
      await fs.symlink(path.join(store, '@scope', 'tool'), path.join(worktree, 'node_modules', '@scope', 'tool'));
      await fs.mkdir(path.join(worktree, 'node_modules', 'own'));
      const layout = await sandboxLayout({ worktree, ownDirs: [], home: os.homedir(), writable: [], network: false, pathValue: '/usr/bin:/bin' });
      expect(layout.readOnly.filter((p) => p.startsWith(root))).toEqual([store]);
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});

describe('bwrapArguments', () => {
  const base: SandboxLayout = { worktree: '/r', hidden: [], writable: [], readOnly: [], scratch: [], network: false };

  it('is the exact argv: namespaces, no capabilities, deeper mounts on top of their parents', () => {
    const args = bwrapArguments({
      worktree: '/r/.selfscope/worktrees/x',
      hidden: ['/r/.selfscope', '/var/lib/selfscope/private', '/home/u'],
      writable: ['/tmp/selfscope-check-1'],
      readOnly: ['/home/u/.bun/bin', '/r'],
      scratch: ['/r/node_modules/.vite'],
      network: false,
    });
    expect(args).toEqual([
      '--die-with-parent', '--new-session', '--unshare-all', '--cap-drop', 'ALL',
      '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp',
      '--ro-bind', '/r', '/r',
      '--tmpfs', '/home/u',
      '--tmpfs', '/r/.selfscope',
      '--bind', '/tmp/selfscope-check-1', '/tmp/selfscope-check-1',
      '--tmpfs', '/r/node_modules/.vite',
      '--ro-bind', '/home/u/.bun/bin', '/home/u/.bun/bin',
      '--bind', '/r/.selfscope/worktrees/x', '/r/.selfscope/worktrees/x',
      '--tmpfs', '/var/lib/selfscope/private',
      '--dir', '/tmp/home', '--setenv', 'HOME', '/tmp/home', '--setenv', 'TMPDIR', '/tmp',
      '--chdir', '/r/.selfscope/worktrees/x', '--',
    ]);
  });

  it('hides the state directory on top of a worktree that is the repository root', () => {
    const args = bwrapArguments({ ...base, hidden: ['/r/.selfscope'] });
    expect(args.join(' ')).toContain('--bind /r /r --tmpfs /r/.selfscope');
  });

  it('keeps hidden what is both hidden and re-exposed (HOME itself on PATH)', () => {
    const args = bwrapArguments({ ...base, hidden: ['/home/u'], readOnly: ['/home/u'] });
    expect(args.join(' ')).toContain('--tmpfs /home/u');
    expect(args.join(' ')).not.toContain('--ro-bind /home/u');
  });

  it('shares the network only when asked', () => {
    expect(bwrapArguments(base)).not.toContain('--share-net');
    expect(bwrapArguments({ ...base, network: true }).slice(0, 6)).toEqual(['--die-with-parent', '--new-session', '--unshare-all', '--share-net', '--cap-drop', 'ALL']);
  });

  it('refuses relative paths, NUL, the root, and a hidden worktree', () => {
    expect(() => bwrapArguments({ ...base, worktree: 'r' })).toThrow(ConfigurationError);
    expect(() => bwrapArguments({ ...base, hidden: ['/r/.selfscope\0x'] })).toThrow(ConfigurationError);
    expect(() => bwrapArguments({ ...base, readOnly: ['relative/bin'] })).toThrow(ConfigurationError);
    expect(() => bwrapArguments({ ...base, hidden: ['/'] })).toThrow(ConfigurationError);
    expect(() => bwrapArguments({ ...base, hidden: ['/r'] })).toThrow(/hides/);
  });
});
