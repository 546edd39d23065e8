// What the sandbox and the hardened git runner cost per call: a trivial `node --test` run
// through CheckRunner with checks.sandbox "bwrap" and "off", and git_status / tree identity
// on a small repository. Prints figures; never fails.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { CheckRunner } = await import(path.join(root, 'dist/core/checks/check-runner.js'));
const { configFileSchema } = await import(path.join(root, 'dist/config/schema.js'));
const { treeIdentity } = await import(path.join(root, 'dist/core/checks/attestation.js'));
const { gitStatus } = await import(path.join(root, 'dist/core/git/inspect.js'));
const runs = Number(process.argv[2] ?? 8);

const repo = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'selfscope-bench-checks-')));
const privateDir = `${repo}.private`;
const git = (...args) => execFileSync('git', args, { cwd: repo, env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@x' } });
fs.mkdirSync(path.join(repo, 'test'));
fs.writeFileSync(path.join(repo, 'package.json'), JSON.stringify({ name: 'b', type: 'module', scripts: { test: 'node --test test/' } }));
fs.writeFileSync(path.join(repo, '.gitignore'), '.selfscope/\n');
fs.writeFileSync(path.join(repo, 'test', 'a.test.js'), "import test from 'node:test';\ntest('adds', () => {});\n");
for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(repo, `f${i}.txt`), `${i}\n`);
git('init', '-q', '-b', 'main');
git('add', '-A');
git('commit', '-q', '-m', 'x');

function stats(values) {
  const s = [...values].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)].toFixed(0)} ms (min ${s[0].toFixed(0)}, max ${s[s.length - 1].toFixed(0)})`;
}

async function timeChecks(mode) {
  const checks = configFileSchema.parse({ checks: { sandbox: mode } }).checks;
  const runner = new CheckRunner(checks, path.join(repo, '.selfscope'), privateDir, { repo });
  await runner.run({ worktree: repo, check: 'test' }); // warm-up (and the sandbox probe)
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = await runner.run({ worktree: repo, check: 'test' });
    times.push(performance.now() - t);
    if (!r.ok) throw new Error(`run not ok: ${r.not_ok_reason}`);
  }
  return times;
}

try {
  const sandboxed = await timeChecks('bwrap');
  const off = await timeChecks('off');
  console.log(`run_tests (node --test, 1 test), sandbox bwrap: ${stats(sandboxed)}`);
  console.log(`run_tests (node --test, 1 test), sandbox off:   ${stats(off)}`);
  const ts = [];
  const st = [];
  for (let i = 0; i < runs * 2; i++) {
    let t = performance.now();
    await treeIdentity(repo);
    ts.push(performance.now() - t);
    t = performance.now();
    await gitStatus(repo);
    st.push(performance.now() - t);
  }
  console.log(`tree identity (200 files): ${stats(ts)}`);
  console.log(`git_status engine (200 files): ${stats(st)}`);
} finally {
  fs.rmSync(repo, { recursive: true, force: true });
  fs.rmSync(privateDir, { recursive: true, force: true });
}
