// A selfscope process using the log index of the repository in argv[3], for the figures of
// the index shared between processes:
//   node bench/index-child.mjs hold  REPO ROOT       opens the index and brings it up to date,
//        prints one JSON line, then holds it (answering the others) until its stdin closes.
//   node bench/index-child.mjs query REPO ROOT SQL   opens the index (as its owner, or as a
//        client of the process holding it) and answers one query, as a tool's first call would
//        (LogIndex.all: refresh, then the query); prints one JSON object whose answeredAt
//        (epoch ms) the parent compares with the moment it spawned this process.
import path from 'node:path';

const [mode, repo, rootArg, sql] = process.argv.slice(2);
const root = path.resolve(rootArg);
const now = () => performance.timeOrigin + performance.now();
const { LogIndex } = await import(path.join(root, 'dist', 'core', 'logs', 'log-index.js'));
const { loadConfig } = await import(path.join(root, 'dist', 'config', 'load.js'));
const config = await loadConfig({ cwd: repo, env: {}, flags: { repo } });
const t = performance.now();
const index = await LogIndex.open({ repo, logs: config.logs, stateDirPath: config.stateDirPath, schema: config.schema, limits: { ...config.limits, queryTimeoutMs: 600_000 }, logger: { log() {} } });
const openMs = performance.now() - t;
const usage = () => {
  const u = process.resourceUsage();
  return { cpuS: (u.userCPUTime + u.systemCPUTime) / 1e6, maxRssMb: Math.round(u.maxRSS / 1024) };
};

if (mode === 'hold') {
  const stats = await index.refresh();
  process.stdout.write(`${JSON.stringify({ role: index.role, openMs, readyMs: performance.now() - t, newEvents: stats.new_events, ...usage() })}\n`);
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.once('end', resolve));
  await index.close();
} else if (mode === 'query') {
  const rows = await index.all(sql);
  const answeredAt = now();
  const answerMs = performance.now() - t;
  const role = index.role;
  await index.close();
  process.stdout.write(JSON.stringify({ role, openMs, answerMs, answeredAt, rows: rows.length, ...usage() }));
} else {
  console.error('usage: node bench/index-child.mjs hold|query REPO ROOT [SQL]');
  process.exit(2);
}
