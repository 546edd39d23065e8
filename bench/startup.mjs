// Start-up and round trips, each beside an anchor run in the same loop so that a busy
// machine slows both: the cold start of `selfscope serve` to the first answered tools/list
// against the smallest SDK server (bench/anchor-server.mjs: one tool over stdio), and
// selfscope_status called again and again against the anchor's one tool. Prints figures;
// never fails.
//   node bench/startup.mjs [--runs 10] [--calls 50] [--root DIR]
// Wall time is what a client waits; CPU time (of every thread of the server, read from
// /proc at the answer) moves much less with the machine's load, so both are given.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const root = path.resolve(arg('root', path.join(here, '..')));
const cli = path.join(root, 'dist', 'cli', 'main.js');
const anchor = path.join(here, 'anchor-server.mjs');
const runs = Number(arg('runs', 10));
const calls = Number(arg('calls', 50));

// A repository like a small bot's: 200 source files in 20 directories, logs ignored.
const repo = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'selfscope-bench-')));
const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@invalid' };
const git = (...args) => execFileSync('git', args, { cwd: repo, env: gitEnv, stdio: 'ignore' });
git('init', '-q', '-b', 'main');
for (let i = 0; i < 200; i++) {
  const dir = path.join(repo, 'src', `m${i % 20}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `f${i}.ts`), `export const x${i} = ${i};\n`);
}
fs.writeFileSync(path.join(repo, 'package.json'), JSON.stringify({ name: 'bench-bot', scripts: { typecheck: 'tsc --noEmit', test: 'vitest run' } }));
fs.writeFileSync(path.join(repo, '.gitignore'), 'data/\n');
fs.mkdirSync(path.join(repo, 'data', 'logs'), { recursive: true });
fs.writeFileSync(path.join(repo, 'data', 'logs', 'runtime-actions.ndjson'), `${JSON.stringify({ ts: new Date().toISOString(), level: 'info', kind: 'sent_reply', event: 'reply_sent', agent: 'bot', content: 'hi', metadata: { durationMs: 120 } })}\n`);
git('add', '-A');
git('commit', '-q', '-m', 'initial');
// Its private state goes beside the throwaway repository, and with it.
const env = { ...process.env, SELFSCOPE_PRIVATE_DIR: `${repo}.private` };

function cpuMs(pid) {
  let total = 0;
  try {
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(fs.readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended
      }
    }
  } catch {
    return null; // no /proc here
  }
  return total / 1e6;
}

function session(argv, cwd) {
  const child = spawn(process.execPath, argv, { cwd, stdio: ['pipe', 'pipe', 'inherit'], env });
  let buffer = '';
  const waiting = new Map();
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const msg = JSON.parse(line);
      const cpu = waiting.has(msg.id) ? cpuMs(child.pid) : null;
      waiting.get(msg.id)?.({ msg, cpu });
      waiting.delete(msg.id);
    }
  });
  let id = 0;
  const request = (method, params) =>
    new Promise((resolve) => {
      const n = ++id;
      waiting.set(n, resolve);
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: n, method, params })}\n`);
    });
  const initialize = async () => {
    await request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '0' } });
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  };
  const close = async () => {
    child.stdin.end();
    await new Promise((r) => child.once('exit', r));
  };
  return { request, initialize, close };
}

async function coldStart(argv) {
  const t0 = performance.now();
  const s = session(argv, repo);
  await s.initialize();
  const { cpu } = await s.request('tools/list', {});
  const wall = performance.now() - t0;
  await s.close();
  return { wall, cpu };
}

async function repeated(argv, name, args) {
  const s = session(argv, repo);
  await s.initialize();
  let t = performance.now();
  const first = await s.request('tools/call', { name, arguments: args });
  const firstMs = performance.now() - t;
  if (first.msg.result?.isError) console.log(`${name} failed: ${JSON.stringify(first.msg.result.content).slice(0, 300)}`);
  // What the first call wrote (the index, the state directory) is a second old before the
  // repeated calls start: younger files are not trusted by the status cache (racy writes).
  await new Promise((r) => setTimeout(r, 1200));
  const trips = [];
  for (let i = 0; i < calls; i++) {
    t = performance.now();
    await s.request('tools/call', { name, arguments: args });
    trips.push(performance.now() - t);
  }
  await s.close();
  return { firstMs, trips };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const f = (v) => (v === null || v === undefined ? '—' : `${v.toFixed(v < 10 ? 1 : 0)} ms`);

const cold = { anchor: [], selfscope: [] };
for (let i = 0; i < runs; i++) {
  cold.anchor.push(await coldStart([anchor]));
  cold.selfscope.push(await coldStart([cli, 'serve']));
}
const status = await repeated([cli, 'serve'], 'selfscope_status', {});
const echo = await repeated([anchor], 'echo', { text: 'hi' });

fs.rmSync(repo, { recursive: true, force: true });
fs.rmSync(`${repo}.private`, { recursive: true, force: true });

const wall = { anchor: median(cold.anchor.map((c) => c.wall)), selfscope: median(cold.selfscope.map((c) => c.wall)) };
const cpuOf = (xs) => (xs.some((c) => c.cpu === null) ? null : median(xs.map((c) => c.cpu)));
const cpu = { anchor: cpuOf(cold.anchor), selfscope: cpuOf(cold.selfscope) };
console.log(`node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(
  `cold start to the first tools/list (median of ${runs}, interleaved): selfscope ${f(wall.selfscope)} wall${cpu.selfscope !== null ? `, ${f(cpu.selfscope)} CPU` : ''} | minimal SDK server ${f(wall.anchor)} wall${cpu.anchor !== null ? `, ${f(cpu.anchor)} CPU` : ''} | ratio ${(wall.selfscope / wall.anchor).toFixed(2)}× wall${cpu.anchor !== null ? `, ${(cpu.selfscope / cpu.anchor).toFixed(2)}× CPU` : ''}`,
);
console.log(
  `selfscope_status over stdio: first ${f(status.firstMs)}, then ${calls} calls p50 ${f(median(status.trips))}, p95 ${f(pct(status.trips, 95))} | the anchor's one tool p50 ${f(median(echo.trips))} | ratio ${(median(status.trips) / median(echo.trips)).toFixed(1)}×`,
);

// Its section of bench/RESULTS.md (the other benchmarks keep theirs).
const resultsFile = path.join(here, 'RESULTS.md');
if (root === path.resolve(here, '..') && fs.existsSync(resultsFile)) {
  const title = 'Start-up and status (bench/startup.mjs)';
  const section = [
    `## ${title}`,
    '',
    `${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load average ${os.loadavg()[0].toFixed(1)}; a repository of 200 files. Medians; the anchor ran in the same loop.`,
    '',
    '| figure | selfscope | anchor | ratio |',
    '| --- | --- | --- | --- |',
    `| cold start to the first tools/list, wall | ${f(wall.selfscope)} | ${f(wall.anchor)} (minimal SDK server) | ${(wall.selfscope / wall.anchor).toFixed(2)}× |`,
    ...(cpu.anchor !== null ? [`| cold start to the first tools/list, CPU | ${f(cpu.selfscope)} | ${f(cpu.anchor)} | ${(cpu.selfscope / cpu.anchor).toFixed(2)}× |`] : []),
    `| selfscope_status, repeated (p50 of ${calls}) | ${f(median(status.trips))} (first call ${f(status.firstMs)}) | ${f(median(echo.trips))} (the anchor's one tool) | ${(median(status.trips) / median(echo.trips)).toFixed(1)}× |`,
    '',
  ].join('\n');
  const sections = fs.readFileSync(resultsFile, 'utf8').split(/^(?=## )/m);
  const at = sections.findIndex((s) => s.startsWith(`## ${title}`));
  if (at >= 0) sections[at] = `${section}\n`;
  else sections.splice(Math.min(2, sections.length), 0, `${section}\n`);
  fs.writeFileSync(resultsFile, sections.join(''));
}
