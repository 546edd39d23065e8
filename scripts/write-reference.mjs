// Writes docs/reference.md from the built registry (npm run docs).
import fs from 'node:fs';
import { renderReference } from '../dist/server/reference.js';

fs.mkdirSync(new URL('../docs/', import.meta.url), { recursive: true });
fs.writeFileSync(new URL('../docs/reference.md', import.meta.url), renderReference());
