// Opens the log index of the repository in argv[2] from a separate process (the built
// dist), counts its events and closes: the second selfscope process of a repository.
import { LogIndex } from '../../dist/core/logs/log-index.js';
import { loadConfig } from '../../dist/config/load.js';

const repo = process.argv[2];
const config = await loadConfig({ cwd: repo, env: {}, flags: { repo } });
const index = await LogIndex.open({ repo, logs: config.logs, stateDirPath: config.stateDirPath, schema: config.schema, limits: config.limits, logger: { log() {} } });
const rows = await index.all('SELECT count(*) AS n FROM logs');
process.stdout.write(JSON.stringify({ mode: index.mode, events: rows[0].n }));
await index.close();
