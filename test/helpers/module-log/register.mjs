// `node --import <this file>`: records the URL of every ES module the process loads, one a
// line, in the file MODULE_LOG_FILE names (see hooks.mjs).
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
