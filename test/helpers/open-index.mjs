// Opens the log index of the repository in argv[2] from a separate process (the built
// dist): another selfscope process of that repository.
//
//   node open-index.mjs <repo>          counts the events, prints one JSON line, closes
//   node open-index.mjs <repo> --hold   prints {"ready":...}, then answers one JSON line per
//                                       stdin line: "count", "refresh", "close" (then exits)
//
// Each answer: { role, mode, file, events, ms } where ms is the time the answer took
// (from the start of the process for the first one).
import readline from 'node:readline';
import { LogIndex } from '../../dist/core/logs/log-index.js';
import { loadConfig } from '../../dist/config/load.js';

const started = performance.now();
const repo = process.argv[2];
const hold = process.argv.includes('--hold');
const config = await loadConfig({ cwd: repo, env: {}, flags: { repo } });
const index = await LogIndex.open({ repo, logs: config.logs, stateDirPath: config.stateDirPath, schema: config.schema, limits: config.limits, logger: { log() {} } });

async function count(since) {
  const rows = await index.all('SELECT count(*) AS n, count(DISTINCT id) AS ids FROM logs');
  return { role: index.role, mode: index.mode, file: index.file, events: Number(rows[0].n), ids: Number(rows[0].ids), ms: Math.round(performance.now() - since) };
}

if (!hold) {
  process.stdout.write(JSON.stringify(await count(started)));
  await index.close();
} else {
  process.stdout.write(`${JSON.stringify({ ready: await count(started) })}\n`);
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const t = performance.now();
    try {
      if (line === 'close') {
        await index.close();
        process.stdout.write(`${JSON.stringify({ closed: true })}\n`);
        process.stdin.destroy(); // nothing more to read: let the process end
        break;
      }
      if (line === 'refresh') await index.refresh();
      process.stdout.write(`${JSON.stringify(await count(t))}\n`);
    } catch (error) {
      process.stdout.write(`${JSON.stringify({ error: String(error) })}\n`);
    }
  }
}
