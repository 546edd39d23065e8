// npm run bench: every benchmark, in turn. Flags go to the log benchmark (--events N).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
for (const [script, extra] of [
  ['startup.mjs', []],
  ['logs.mjs', args],
]) {
  console.log(`\n== ${script}`);
  spawnSync(process.execPath, ['--expose-gc', path.join(here, script), ...extra], { stdio: 'inherit' });
}
