// Builds the log index of the repository in argv[2] once and reports time and peak RSS.
// argv[3]: the build to use (a directory holding dist/; default this checkout).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = process.argv[3] ? path.resolve(process.argv[3]) : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { LogIndex } = await import(path.join(root, 'dist', 'core', 'logs', 'log-index.js'));
const { loadConfig } = await import(path.join(root, 'dist', 'config', 'load.js'));
const repo = process.argv[2];
const config = await loadConfig({ cwd: repo, env: {}, flags: { repo } });
const t = performance.now();
const index = await LogIndex.open({ repo, logs: config.logs, stateDirPath: config.stateDirPath, schema: config.schema, limits: config.limits, logger: { log() {} } });
const stats = await index.refresh();
const ms = performance.now() - t;
await index.close();
const indexMb = Math.round(fs.statSync(path.join(config.stateDirPath, 'index.duckdb')).size / 1e6);
process.stdout.write(JSON.stringify({ ms, events: stats.new_events, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024), indexMb }));
