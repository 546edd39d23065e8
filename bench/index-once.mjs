// Builds the log index of the repository in argv[2] once, cold, in a process of its own, and
// prints one JSON object: wall time, this process's CPU (user + system, every thread: DuckDB's
// too) and peak RSS, and the index file's size.
// argv[3]: the build to use (a directory holding dist/; default this checkout).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = process.argv[3] ? path.resolve(process.argv[3]) : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { LogIndex } = await import(path.join(root, 'dist', 'core', 'logs', 'log-index.js'));
const { loadConfig } = await import(path.join(root, 'dist', 'config', 'load.js'));
const repo = process.argv[2];
const config = await loadConfig({ cwd: repo, env: {}, flags: { repo } });
const cpuBefore = process.cpuUsage();
const t = performance.now();
const index = await LogIndex.open({ repo, logs: config.logs, stateDirPath: config.stateDirPath, schema: config.schema, limits: config.limits, logger: { log() {} } });
const openMs = performance.now() - t;
const stats = await index.refresh();
const ms = performance.now() - t;
await index.close();
const closeMs = performance.now() - t - ms;
const work = process.cpuUsage(cpuBefore);
const file = path.join(config.stateDirPath, 'index.duckdb');
const size = (f) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
const usage = process.resourceUsage();
process.stdout.write(
  JSON.stringify({
    ms,
    openMs,
    closeMs,
    events: stats.new_events,
    badLines: stats.bad_lines,
    // The whole process (start-up and imports included), as the anchor's is counted.
    cpuS: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    userS: usage.userCPUTime / 1e6,
    sysS: usage.systemCPUTime / 1e6,
    // From open() to the index closed.
    workCpuS: (work.user + work.system) / 1e6,
    maxRssMb: Math.round(usage.maxRSS / 1024),
    indexMb: Math.round((size(file) + size(`${file}.wal`)) / 1e6),
    threads: config.limits.threads,
    memoryLimit: config.limits.memoryLimit,
  }),
);
