import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderReference } from '../../../src/server/reference.js';
import { ALL_TOOLS } from '../../../src/tools/index.js';
import { z } from 'zod';
import { configFileSchema } from '../../../src/config/schema.js';

const ROOT = path.resolve(__dirname, '../../..');

describe('generated documentation', () => {
  it('docs/reference.md is up to date with the registry (regenerate with: npm run docs)', () => {
    const committed = fs.readFileSync(path.join(ROOT, 'docs', 'reference.md'), 'utf8');
    expect(committed).toBe(renderReference());
  });

  it('documents every tool', () => {
    const text = renderReference();
    for (const tool of ALL_TOOLS) expect(text).toContain(`### ${tool.name}`);
  });

  it('schema/selfscope.config.schema.json matches the zod schema (regenerate with: npm run build)', () => {
    const committed = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema', 'selfscope.config.schema.json'), 'utf8')) as Record<string, unknown>;
    const generated = z.toJSONSchema(configFileSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    expect({ ...committed, title: undefined }).toEqual({ ...generated, title: undefined });
  });
});
