// suspect_commits without stacks, measured on a real repository: the time of the literal
// search for the names a failing event carries (one `git grep -F` over the tracked tree at a
// commit) and of the whole ranking. Read-only on the repository. Prints figures; never fails.
//   node bench/suspects.mjs <repo> [--runs N] [--event voice_context_compaction_failed] [--kind voice_error]
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { GitRunner } = await import(path.join(root, 'dist', 'core', 'git', 'runner.js'));
const { resolveCommit, searchLiterals } = await import(path.join(root, 'dist', 'core', 'git', 'literal-search.js'));
const { suspectCommits, termsFrom } = await import(path.join(root, 'dist', 'core', 'anomalies', 'suspects.js'));

const repo = process.argv[2];
if (!repo || repo.startsWith('--')) {
  console.error('usage: node bench/suspects.mjs <repo> [--runs N] [--event NAME] [--kind NAME] [--tool NAME] [--error TEXT]');
  process.exit(2);
}
const opt = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const RUNS = Number(opt('runs', 7));
const values = [
  { value: opt('event', 'voice_context_compaction_failed'), from: 'event' },
  { value: opt('error', 'Request timed out'), from: 'error', phrase: true },
  { value: opt('tool', 'music_queue_add'), from: 'tool' },
  { value: opt('kind', 'voice_error'), from: 'kind' },
  { value: opt('kind', 'voice_error').replace(/_error$/, ''), from: 'operation' },
];
const terms = termsFrom(values);
const git = new GitRunner(repo);
const commit = await resolveCommit(git, 'HEAD');
const files = (await git.run(['ls-tree', '-r', '--name-only', '--full-tree', commit])).split('\n').filter(Boolean).length;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const searchMs = [];
let last;
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now();
  last = await searchLiterals(git, commit, terms.map((t) => t.term));
  searchMs.push(performance.now() - t0);
}
console.log(`repository ${repo}: ${files} tracked files at ${commit.slice(0, 10)}; ${terms.length} terms`);
for (const t of last.terms) console.log(`  ${t.status.padEnd(12)} ${String(t.file_count).padStart(4)} files  ${t.term}${t.files.length ? `  e.g. ${t.files.slice(0, 2).map((f) => `${f.path}:${f.lines[0] ?? '-'}`).join(', ')}` : ''}`);
console.log(`literal search (ls-tree + git grep -F -o, through the hardened runner): median ${median(searchMs).toFixed(1)} ms, min ${Math.min(...searchMs).toFixed(1)} ms over ${RUNS} runs`);

// The whole ranking, with the onset just after HEAD and the default 48 h lookback widened to reach commits.
const headDate = Date.parse((await git.run(['log', '-1', '--format=%cI', commit])).trim());
const rankMs = [];
let ranked;
for (let i = 0; i < Math.min(RUNS, 5); i++) {
  const t0 = performance.now();
  ranked = await suspectCommits({ repo, onset: new Date(headDate + 60_000), texts: { texts: [], terms }, lookbackHours: 24 * 14, max: 5 });
  rankMs.push(performance.now() - t0);
}
console.log(`suspect_commits over 14 days of commits (git log, search, blame): median ${median(rankMs).toFixed(1)} ms`);
for (const s of ranked.suspects) console.log(`  ${s.score.toFixed(2)} ${s.sha.slice(0, 10)} ${s.subject.slice(0, 60)}\n       ${s.reasons.join('; ').slice(0, 300)}`);
