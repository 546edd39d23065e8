#!/usr/bin/env node
// Runs the official MCP conformance suite (@modelcontextprotocol/conformance, a dev
// dependency) against `selfscope serve --http 127.0.0.1:0 --no-auth-loopback`, started
// here in a repository and stopped at the end. Build first (`npm run build`).
//
//   node scripts/conformance.mjs [--repo DIR] [--all] [--json]
//
// By default it runs the server scenarios that apply to any MCP server. The suite's other
// scenarios call fixture tools, prompts and resources of its reference server
// (`test_image_content`, `test://static-text`, `test_simple_prompt`…) that selfscope does
// not have; `--all` runs the whole active suite anyway, for the record.
// Exit code 0 when every check passed.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const SUITE = path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');

/** Scenarios that test the protocol and transport rather than the reference server's fixtures. */
const APPLICABLE_SCENARIOS = [
  'server-initialize',
  'ping',
  'logging-set-level',
  'tools-list',
  'resources-list',
  'prompts-list',
  'server-sse-multiple-streams',
  'dns-rebinding-protection',
];

const START_TIMEOUT_MS = 60_000;
const SCENARIO_TIMEOUT_MS = 120_000;

function parseArgs(argv) {
  const args = { repo: process.cwd(), all: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--repo') args.repo = path.resolve(argv[++i] ?? '.');
    else if (arg === '--all') args.all = true;
    else if (arg === '--json') args.json = true;
    else {
      process.stderr.write(`unknown argument ${arg}\nusage: node scripts/conformance.mjs [--repo DIR] [--all] [--json]\n`);
      process.exit(2);
    }
  }
  return args;
}

/** Starts the server and resolves with its endpoint, once it has printed it. */
function startServer(repo) {
  const child = spawn(process.execPath, [CLI, 'serve', '--http', '127.0.0.1:0', '--no-auth-loopback'], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`the server did not start within ${START_TIMEOUT_MS / 1000} s:\n${stderr}`));
    }, START_TIMEOUT_MS);
    child.stderr.on('data', (chunk) => {
      stderr += chunk.toString();
      const match = /MCP endpoint: (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1], stderr: () => stderr });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}) before it listened:\n${stderr}`));
    });
  });
}

function stopServer(child) {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Runs the suite's CLI; resolves with the checks it saved (one entry per scenario). */
async function runSuite(url, suiteArgs, outDir) {
  const child = spawn(process.execPath, [SUITE, 'server', '--url', url, ...suiteArgs, '--output-dir', outDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c) => (output += c.toString()));
  child.stderr.on('data', (c) => (output += c.toString()));
  const code = await new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), SCENARIO_TIMEOUT_MS);
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  const results = [];
  for (const dir of await fs.readdir(outDir)) {
    const file = path.join(outDir, dir, 'checks.json');
    const checks = JSON.parse(await fs.readFile(file, 'utf8').catch(() => '[]'));
    results.push({ dir, checks: checks.map((c) => ({ id: c.id, status: c.status, ...(c.errorMessage ? { errorMessage: c.errorMessage } : {}) })) });
  }
  return { code, output, results };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  for (const [file, what] of [
    [CLI, 'selfscope is not built: run `npm run build` first'],
    [SUITE, '@modelcontextprotocol/conformance is not installed: run `npm install`'],
  ]) {
    await fs.access(file).catch(() => {
      process.stderr.write(`${what}\n`);
      process.exit(1);
    });
  }
  const outRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-conformance-'));
  const server = await startServer(args.repo);
  const scenarios = [];
  try {
    const runs = args.all ? [['all', ['--suite', 'active']]] : APPLICABLE_SCENARIOS.map((s) => [s, ['--scenario', s]]);
    for (const [name, suiteArgs] of runs) {
      const outDir = path.join(outRoot, name);
      await fs.mkdir(outDir);
      const { code, output, results } = await runSuite(server.url, suiteArgs, outDir);
      if (results.length === 0) scenarios.push({ scenario: name, exitCode: code, checks: [], output });
      for (const r of results) {
        // Saved as server-<scenario>-<timestamp>.
        const scenario = r.dir.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T.*$/, '');
        scenarios.push({ scenario, exitCode: code, checks: r.checks });
      }
    }
  } finally {
    await stopServer(server.child);
    await fs.rm(outRoot, { recursive: true, force: true });
  }
  const failed = (s) => s.checks.length === 0 || s.checks.some((c) => c.status === 'FAILURE' || c.status === 'WARNING');
  const ok = scenarios.length > 0 && !scenarios.some(failed);
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ url: server.url, ok, scenarios }, null, 2)}\n`);
  } else {
    for (const s of scenarios) {
      const passed = s.checks.filter((c) => c.status === 'SUCCESS').length;
      process.stdout.write(`${failed(s) ? '✗' : '✓'} ${s.scenario}: ${passed}/${s.checks.length} checks passed\n`);
      for (const c of s.checks) if (c.status !== 'SUCCESS' && c.status !== 'INFO') process.stdout.write(`    ${c.status} ${c.id}: ${c.errorMessage ?? ''}\n`);
      if (s.checks.length === 0) process.stdout.write(`    no results saved; the suite said:\n${s.output}\n`);
    }
    process.stdout.write(`${ok ? 'all checks passed' : 'some checks failed'} (${server.url}, --no-auth-loopback)\n`);
  }
  process.exitCode = ok ? 0 : 1;
}

await main();
