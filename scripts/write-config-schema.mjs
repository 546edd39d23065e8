// Writes schema/selfscope.config.schema.json from the zod schema in dist/, so editors
// complete and check selfscope.config.json. Run by `npm run build`.
import fs from 'node:fs';
import { z } from 'zod';
import { configFileSchema } from '../dist/config/schema.js';

const schema = z.toJSONSchema(configFileSchema, { io: 'input', unrepresentable: 'any' });
schema.title = 'selfscope configuration (selfscope.config.json)';
fs.mkdirSync(new URL('../schema/', import.meta.url), { recursive: true });
fs.writeFileSync(new URL('../schema/selfscope.config.schema.json', import.meta.url), `${JSON.stringify(schema, null, 2)}\n`);
