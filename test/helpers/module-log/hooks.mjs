// Module hooks (node:module register): appends each loaded module's URL to $MODULE_LOG_FILE.
import fs from 'node:fs';

export async function load(url, context, nextLoad) {
  const file = process.env.MODULE_LOG_FILE;
  if (file) fs.appendFileSync(file, `${url}\n`);
  return nextLoad(url, context);
}
