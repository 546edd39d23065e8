// npm run bench: every benchmark, in turn, each printing its figures (and never failing).
//   npm run bench -- [--quick] [--large] [--events N] [--runs R] [--seed S] [--skip-jq] [--root DIR]
// --quick: a fast check (200,000 log events, one run of each figure, fewer start-ups; the
// results file is left as it is). --large (or SELFSCOPE_BENCH_LARGE=1) adds the 5M-event size
// to the log benchmark: minutes to generate (once, under the temp directory) and to index.
// --root measures another build.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const SWITCHES = new Set(['--large', '--skip-jq', '--quick']);
const quick = args.includes('--quick');
// The options each script takes, with their values.
const pass = (names) => args.flatMap((a, i) => (!names.includes(a) ? [] : SWITCHES.has(a) ? [a] : [a, args[i + 1]]));
for (const [script, extra] of [
  ['startup.mjs', [...pass(['--root', '--runs']), ...(quick && !args.includes('--runs') ? ['--runs', '3', '--calls', '10'] : [])]],
  // The log index: warm queries against their anchors, the cold index against DuckDB's own
  // load, a second process's first answer while another holds the index, a restart.
  ['logs.mjs', pass(['--root', '--events', '--large', '--large-events', '--runs', '--seed', '--skip-jq', '--quick'])],
]) {
  console.log(`\n== ${script}`);
  const run = spawnSync(process.execPath, ['--expose-gc', path.join(here, script), ...extra], { stdio: 'inherit' });
  if (run.status !== 0) console.log(`(${script} stopped early: exit ${run.status ?? run.signal})`);
}
