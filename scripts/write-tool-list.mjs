// Writes dist/server/tools-list.json from the compiled tool definitions (run by `npm run build`):
// a starting server answers tools/list from it instead of building and converting every schema.
import { ALL_TOOLS } from '../dist/tools/index.js';
import { writeToolList } from '../dist/server/tool-listing.js';

const file = await writeToolList(new URL('../dist/', import.meta.url), ALL_TOOLS);
process.stdout.write(`dist/server/tools-list.json: ${file.tools.length} tools, from ${file.sources.length} modules\n`);
