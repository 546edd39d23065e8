import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MARKER_NAME, untrusted } from '../../../src/core/text/delimit.js';
import { UNTRUSTED_NOTICE } from '../../../src/core/text/egress.js';
import { egressPrompt, egressResourceContents, toolCallResult } from '../../../src/server/boundary.js';
import { silentLogger } from '../../../src/core/logger.js';
import { defineTool } from '../../../src/tools/define-tool.js';
import { FAKE_END, HOSTILE_TEXT, INSTRUCTION, rawUnsafeIn, secretsIn, stringsOf } from '../../helpers/hostile.js';

const LIMITS = { fieldBytes: 512, resultBytes: 20_000 };
// What a careless tool might return: log text raw, in values, keys and nested records.
const RAW = { rows: [{ [`col ${HOSTILE_TEXT.slice(0, 80)}`]: HOSTILE_TEXT, nested: { deeper: [HOSTILE_TEXT, 'x'.repeat(100_000)] } }], subject: { operation: HOSTILE_TEXT } };

function expectClean(value: unknown, fieldBytes: number): void {
  for (const [at, s] of stringsOf(value)) {
    expect(rawUnsafeIn(s), at).toBeNull();
    expect(Buffer.byteLength(s), at).toBeLessThanOrEqual(fieldBytes);
  }
  expect(secretsIn(JSON.stringify(value))).toEqual([]);
}

describe('the egress gate at the server boundary', () => {
  it('sanitises every string of an untrusted tool result, adds the notice and delimits the text', () => {
    const result = toolCallResult({ name: 'fake', untrusted: true }, { structured: RAW, text: ['3 rows:', untrusted(HOSTILE_TEXT)] }, LIMITS, silentLogger);
    expect(result.isError).toBeUndefined();
    const s = result.structuredContent!;
    expect(Object.keys(s)[0]).toBe('untrusted_notice');
    expect(s['untrusted_notice']).toBe(UNTRUSTED_NOTICE);
    expectClean(s, LIMITS.fieldBytes);
    const text = (result.content[0] as { text: string }).text;
    expect(text.startsWith('3 rows:\n<untrusted-log-data id="')).toBe(true);
    expect(text).not.toContain(FAKE_END);
    expect(rawUnsafeIn(text)).toBeNull();
    expect(secretsIn(text)).toEqual([]);
    expect(Buffer.byteLength(JSON.stringify(s)) + Buffer.byteLength(text)).toBeLessThanOrEqual(LIMITS.resultBytes);
  });

  it('delimits an untrusted tool\'s plain-string text as a whole', () => {
    const result = toolCallResult({ name: 'fake', untrusted: true }, { structured: {}, text: HOSTILE_TEXT }, LIMITS, silentLogger);
    const text = (result.content[0] as { text: string }).text;
    expect(text.startsWith(`<${MARKER_NAME} id="`)).toBe(true);
    expect(text.indexOf(INSTRUCTION)).toBeGreaterThan(0);
  });

  it('drops the text before exceeding limits.resultBytes, and refuses a structured result that alone exceeds it', () => {
    const rows = Array.from({ length: 30 }, (_, i) => ({ i, v: 'v'.repeat(500) }));
    const fits = toolCallResult({ name: 'fake', untrusted: true }, { structured: { rows }, text: [untrusted('t'.repeat(9000))] }, LIMITS, silentLogger);
    const text = (fits.content[0] as { text: string }).text;
    expect(text).toMatch(/text rendering was left out/);
    const tooBig = toolCallResult({ name: 'fake', untrusted: true }, { structured: { rows: [...rows, ...rows] }, text: '' }, LIMITS, silentLogger);
    expect(tooBig.isError).toBe(true);
    expect((tooBig.content[0] as { text: string }).text).toMatch(/more than limits.resultBytes/);
  });

  it('leaves a trusted tool\'s structured result alone but still cleans its text', () => {
    const result = toolCallResult({ name: 'git', untrusted: false }, { structured: { subject: 'a\u202eb' }, text: 'diff \u001b[2J' }, LIMITS, silentLogger);
    expect(result.structuredContent).toEqual({ subject: 'a\u202eb' });
    expect((result.content[0] as { text: string }).text).toBe('diff \\u{1b}[2J');
  });

  it('sanitises and marks resource bodies, JSON given as text included, and bounds them', () => {
    const [viaJson] = egressResourceContents({ name: 'r' }, [{ uri: 'selfscope://x', json: RAW }], LIMITS);
    const [viaText] = egressResourceContents({ name: 'r' }, [{ uri: 'selfscope://x', mimeType: 'application/json', text: JSON.stringify(RAW) }], LIMITS);
    for (const body of [viaJson!, viaText!]) {
      const parsed = JSON.parse(body.text) as Record<string, unknown>;
      expect(parsed['untrusted_notice']).toBe(UNTRUSTED_NOTICE);
      expectClean(parsed, LIMITS.fieldBytes);
    }
    const [plain] = egressResourceContents({ name: 'r' }, [{ uri: 'selfscope://x', mimeType: 'text/plain', text: HOSTILE_TEXT }], LIMITS);
    expect(plain!.text.startsWith(`<${MARKER_NAME} id="`)).toBe(true);
    expect(() => egressResourceContents({ name: 'r' }, [{ uri: 'selfscope://x', json: { rows: Array.from({ length: 100 }, () => 'v'.repeat(500)) } }], LIMITS)).toThrow(/limits.resultBytes/);
  });

  it('delimits a prompt\'s untrusted parts with one nonce per response, and cleans its description', () => {
    const render = () => egressPrompt({ name: 'p' }, { description: `Fix: ${HOSTILE_TEXT}`, messages: [{ role: 'user', text: ['Do this.', untrusted(HOSTILE_TEXT)] }] }, LIMITS);
    const a = render();
    const b = render();
    const nonce = (t: string) => new RegExp(`<${MARKER_NAME} id="([0-9a-f]{16})"`).exec(t)![1];
    expect(nonce(a.messages[0]!.content.text)).not.toBe(nonce(b.messages[0]!.content.text));
    expect(rawUnsafeIn(a.description!)).toBeNull();
    expect(Buffer.byteLength(a.description!)).toBeLessThanOrEqual(300);
    expect(a.messages[0]!.content.text.split(`</${MARKER_NAME}`)).toHaveLength(2);
  });

  it('makes log and anomaly tools untrusted by default and declares the notice in their output schema', () => {
    const base = { title: 't', description: 'd', inputSchema: {}, outputSchema: { n: z.number() }, annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false }, load: async () => ({ handler: async () => ({ structured: { n: 1 }, text: '' }) }) };
    const logs = defineTool({ ...base, name: 'a', toolset: 'logs' });
    expect(logs.untrusted).toBe(true);
    expect(Object.keys(logs.outputSchema)).toEqual(['untrusted_notice', 'n']);
    const git = defineTool({ ...base, name: 'b', toolset: 'git' });
    expect(git.untrusted).toBe(false);
    expect(Object.keys(git.outputSchema)).toEqual(['n']);
    expect(defineTool({ ...base, name: 'c', toolset: 'git', untrusted: true }).untrusted).toBe(true);
  });
});
