import { z } from 'zod';
import { ALL_PROMPTS } from '../prompts/index.js';
import { ALL_RESOURCES } from '../resources/index.js';
import { isTemplateResource } from '../resources/define-resource.js';
import { ALL_TOOLS } from '../tools/index.js';

type JsonSchema = { type?: string | string[]; description?: string; enum?: unknown[]; default?: unknown; items?: JsonSchema; anyOf?: JsonSchema[]; properties?: Record<string, JsonSchema>; required?: string[] };

function typeOf(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(' \\| ');
  if (schema.type === 'array') return `${schema.items ? typeOf(schema.items) : 'any'}[]`;
  return Array.isArray(schema.type) ? schema.type.join(' \\| ') : (schema.type ?? 'any');
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();
}

/**
 * The tool, resource and prompt reference, generated from the registry so it cannot drift:
 * `npm run docs` writes docs/reference.md, and a test fails when the file is stale.
 */
export function renderReference(): string {
  const out: string[] = [
    '# selfscope reference',
    '',
    'Generated from the registry by `npm run docs`; do not edit by hand.',
    '',
    '## Tools',
    '',
    '| tool | toolset | read-only | destructive | idempotent | open world |',
    '| --- | --- | --- | --- | --- | --- |',
    ...ALL_TOOLS.map((t) => {
      const a = t.annotations;
      const yes = (v: boolean) => (v ? 'yes' : 'no');
      return `| [\`${t.name}\`](#${t.name}) | ${t.toolset} | ${yes(a.readOnlyHint)} | ${yes(a.destructiveHint)} | ${yes(a.idempotentHint)} | ${yes(a.openWorldHint)} |`;
    }),
    '',
  ];
  for (const tool of ALL_TOOLS) {
    const input = z.toJSONSchema(z.object(tool.inputSchema), { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    const output = z.toJSONSchema(z.object(tool.outputSchema), { io: 'output', unrepresentable: 'any' }) as JsonSchema;
    out.push(`### ${tool.name}`, '', tool.description, '');
    const props = Object.entries(input.properties ?? {});
    if (props.length === 0) {
      out.push('Input: none.', '');
    } else {
      out.push('| input | type | required | description |', '| --- | --- | --- | --- |');
      for (const [name, schema] of props) {
        const def = schema.default !== undefined ? ` (default ${JSON.stringify(schema.default)})` : '';
        out.push(`| \`${name}\` | ${cell(typeOf(schema))} | ${input.required?.includes(name) ? 'yes' : 'no'} | ${cell((schema.description ?? '') + def)} |`);
      }
      out.push('');
    }
    out.push(`Output fields: ${Object.keys(output.properties ?? {}).map((k) => `\`${k}\``).join(', ')}.`, '');
  }
  out.push('## Resources', '');
  if (ALL_RESOURCES.length === 0) out.push('None yet.', '');
  else {
    out.push('| URI | subscribable | description |', '| --- | --- | --- |');
    for (const r of ALL_RESOURCES) {
      const uri = isTemplateResource(r) ? r.uriTemplate : r.uri;
      out.push(`| \`${uri}\` | ${r.subscribable ? 'yes' : 'no'} | ${cell(r.description)} |`);
    }
    out.push('');
  }
  out.push('## Prompts', '');
  if (ALL_PROMPTS.length === 0) out.push('None yet.', '');
  else {
    out.push('| prompt | arguments | description |', '| --- | --- | --- |');
    for (const p of ALL_PROMPTS) {
      const args = Object.entries(p.argsSchema as Record<string, z.ZodType>).map(([name, s]) => `\`${name}\`${s.safeParse(undefined).success ? ' (optional)' : ''}`);
      out.push(`| \`${p.name}\` | ${args.join(', ') || 'none'} | ${cell(p.description)} |`);
    }
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
