// Cold start of `selfscope serve` to the first answered tools/list, and the stdio round
// trip of a trivial tools/call (selfscope_status). Prints figures; never fails.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'cli', 'main.js');
const runs = Number(process.argv[2] ?? 10);
const calls = Number(process.argv[3] ?? 200);

const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'selfscope-bench-'));
const git = (...args) => spawn('git', args, { cwd: repo, stdio: 'ignore' });
await new Promise((r) => git('init', '-q', '-b', 'main').on('exit', r));

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function session() {
  // Its private state goes beside the throwaway repository, and with it.
  const child = spawn(process.execPath, [cli, 'serve'], { cwd: repo, stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, SELFSCOPE_PRIVATE_DIR: `${repo}.private` } });
  let buffer = '';
  const waiting = new Map();
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const msg = JSON.parse(line);
      waiting.get(msg.id)?.(msg);
    }
  });
  let id = 0;
  const request = (method, params) =>
    new Promise((resolve) => {
      const n = ++id;
      waiting.set(n, resolve);
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: n, method, params })}\n`);
    });
  const notify = (method) => child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method })}\n`);
  return { child, request, notify };
}

const cold = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const s = session();
  await s.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '0' } });
  s.notify('notifications/initialized');
  await s.request('tools/list', {});
  cold.push(performance.now() - t0);
  s.child.stdin.end();
  await new Promise((r) => s.child.once('exit', r));
}

const s = session();
await s.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '0' } });
s.notify('notifications/initialized');
const trips = [];
for (let i = 0; i < calls; i++) {
  const t0 = performance.now();
  await s.request('tools/call', { name: 'selfscope_status', arguments: {} });
  trips.push(performance.now() - t0);
}
const pings = [];
for (let i = 0; i < calls; i++) {
  const t0 = performance.now();
  await s.request('ping', {});
  pings.push(performance.now() - t0);
}
s.child.stdin.end();
await new Promise((r) => s.child.once('exit', r));
fs.rmSync(repo, { recursive: true, force: true });
fs.rmSync(`${repo}.private`, { recursive: true, force: true });

const f = (v) => `${v.toFixed(1)} ms`;
console.log(`node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`);
console.log(`cold start to first tools/list (${runs} runs): p50 ${f(percentile(cold, 50))}, min ${f(Math.min(...cold))}, max ${f(Math.max(...cold))}`);
console.log(`tools/call selfscope_status over stdio (${calls} calls): p50 ${f(percentile(trips, 50))}, p95 ${f(percentile(trips, 95))}`);
console.log(`ping over stdio (${calls} calls): p50 ${f(percentile(pings, 50))}, p95 ${f(percentile(pings, 95))}`);
