// Dies in the middle of a cold index of the repository in argv[2], as a killed process does:
// SIGKILL right after the bulk load's second commit, so rows are in the index file but the
// read positions are not. argv[3]: limits.lineBytes (it is part of the index's signature). Uses the built dist.
import { BulkLoader } from '../../dist/core/logs/bulk-load.js';
import { LogIndex } from '../../dist/core/logs/log-index.js';
import { loadConfig } from '../../dist/config/load.js';

const repo = process.argv[2];
const config = await loadConfig({ cwd: repo, env: {}, flags: { repo } });
const commit = BulkLoader.prototype.commit;
let commits = 0;
BulkLoader.prototype.commit = async function (...args) {
  await commit.apply(this, args);
  if (++commits === 2) process.kill(process.pid, 'SIGKILL');
};
const index = await LogIndex.open({ repo, logs: config.logs, stateDirPath: config.stateDirPath, schema: config.schema, limits: { ...config.limits, lineBytes: Number(process.argv[3]) }, logger: { log() {} }, bulkCommitBytes: 1 });
await index.refresh();
process.stdout.write('finished without being killed\n');
await index.close();
