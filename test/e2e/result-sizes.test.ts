import fs from 'node:fs/promises';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { AppContext } from '../../src/server/app-context.js';
import { toolCallResult } from '../../src/server/boundary.js';
import { createServer } from '../../src/server/create-server.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { BIG_CONTENT_CHARS, BUSY_SESSION, createSizesFixture, tokens, type SizesFixture } from '../helpers/result-sizes.js';

/**
 * Every tool's result with the worst ordinary arguments (largest page sizes allowed, the
 * busiest session, the biggest event, change and test run), under the default limits,
 * measured in tokens as a client counts them: JSON.stringify(structuredContent) — what the
 * model reads — and the text content. Claude Code drops a result over 25,000 tokens (and
 * warns over 10,000); each part must stay under BUDGET. Tokens are counted with cl100k_base
 * (gpt-tokenizer) as a stand-in for Claude's tokenizer, which is not published: BUDGET
 * leaves 40% headroom for the difference. Every result that holds less than there is must
 * say so, and how to get the rest. The table of sizes is printed at the end (and written to
 * $SELFSCOPE_SIZES_OUT when set).
 */

const BUDGET = 15_000;

type Result = { isError?: boolean; structuredContent?: Record<string, unknown>; content: Array<{ type: string; text?: string }> };
type S = Record<string, unknown>;

interface Row {
  tool: string;
  args: string;
  structuredBytes: number;
  structuredTokens: number;
  textBytes: number;
  textTokens: number;
  isError: boolean;
}

let fixture: SizesFixture;
let client: Client;
let app: AppContext;
const rows: Row[] = [];
const measured = new Set<string>();

function summarize(args: S): string {
  return JSON.stringify(args, (_k, v: unknown) => (typeof v === 'string' && v.length > 40 ? `${v.slice(0, 37)}...` : v));
}

/** Calls a tool, records its sizes, and checks them against the budget. */
async function measure(name: string, args: S, label = summarize(args)): Promise<Result> {
  const result = (await client.callTool({ name, arguments: args }, undefined, { timeout: 300_000 })) as Result;
  const structured = result.structuredContent ? JSON.stringify(result.structuredContent) : '';
  const text = result.content.map((c) => c.text ?? '').join('\n');
  const row: Row = {
    tool: name,
    args: label,
    structuredBytes: Buffer.byteLength(structured),
    structuredTokens: tokens(structured),
    textBytes: Buffer.byteLength(text),
    textTokens: tokens(text),
    isError: result.isError === true,
  };
  rows.push(row);
  measured.add(name);
  const dump = process.env['SELFSCOPE_SIZES_DUMP'];
  if (dump) await fs.writeFile(path.join(dump, `${rows.length}-${name}.json`), JSON.stringify({ args: label, structured, text }));
  expect.soft(row.structuredTokens, `${name} ${label}: structuredContent tokens`).toBeLessThan(BUDGET);
  expect.soft(row.textTokens, `${name} ${label}: text tokens`).toBeLessThan(BUDGET);
  expect.soft(row.structuredTokens + row.textTokens, `${name} ${label}: structured + text tokens`).toBeLessThan(25_000);
  return result;
}

function ok(result: Result, label: string): S {
  expect(result.isError, `${label}: ${result.content.map((c) => c.text).join('\n').slice(0, 500)}`).not.toBe(true);
  return result.structuredContent!;
}

function table(): string {
  const head = ['tool', 'args', 'structured bytes', 'structured tokens', 'text bytes', 'text tokens'];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const r of rows) lines.push(`| ${r.tool}${r.isError ? ' (isError)' : ''} | \`${r.args.replace(/\|/g, '\\|')}\` | ${r.structuredBytes} | ${r.structuredTokens} | ${r.textBytes} | ${r.textTokens} |`);
  return lines.join('\n');
}

beforeAll(async () => {
  fixture = await createSizesFixture();
  const config = await loadConfig({ cwd: fixture.dir, env: { XDG_STATE_HOME: fixture.stateHome } });
  app = new AppContext(config, silentLogger, { transport: 'in-process', readOnly: false, toolsets: undefined }, fixture.dir);
  const server = createServer(app);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  client = new Client({ name: 'result-sizes-test', version: '0' });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  // Caches the output schemas: every structuredContent below is validated against its tool's.
  await client.listTools();
}, 180_000);

afterAll(async () => {
  const out = table();
  process.stdout.write(`\nResult sizes (tokens: cl100k_base), budget ${BUDGET} each:\n${out}\n`);
  if (process.env['SELFSCOPE_SIZES_OUT']) await fs.writeFile(process.env['SELFSCOPE_SIZES_OUT'], `${out}\n`);
  await client?.close();
  await app?.close();
  await fixture?.cleanup();
}, 60_000);

describe('every tool result stays under the token budget with the worst ordinary arguments', () => {
  it('selfscope_status', async () => {
    ok(await measure('selfscope_status', {}), 'selfscope_status');
  });

  it('query_runtime_logs, events: the largest page, every field', async () => {
    const all = ok(await measure('query_runtime_logs', { limit: 500, fields: ['content', 'metadata', 'error', 'event', 'tool_name', 'session_id', 'turn_id', 'call_id', 'trigger_message_id', 'message_id', 'fingerprint', 'file', 'offset', 'cut'] }, 'limit 500, all fields'), 'events');
    expect(all['rows']).not.toHaveLength(0);
    // Fewer rows than matched: the result says so and where the next page starts.
    expect(all['next_cursor']).toEqual(expect.any(String));
    expect(all['truncated_reason']).toEqual(expect.any(String));
    const next = ok(await measure('query_runtime_logs', { limit: 500, fields: ['content', 'metadata'], cursor: all['next_cursor'] }, 'limit 500, content+metadata, next page'), 'events page 2');
    expect(next['rows']).not.toHaveLength(0);
    ok(await measure('query_runtime_logs', { limit: 500 }, 'limit 500, default fields'), 'events default fields');
    ok(await measure('query_runtime_logs', { where: [{ path: 'metadata.sessionId', equals: BUSY_SESSION }], fields: ['content', 'metadata'] }, 'busy session, content+metadata, default limit'), 'events busy');
    ok(await measure('query_runtime_logs', { errors_only: true, limit: 500, fields: ['error', 'content', 'metadata'] }, 'errors_only, limit 500, error+content+metadata'), 'events errors');
  });

  it('query_runtime_logs, aggregate: the most groups', async () => {
    ok(await measure('query_runtime_logs', { mode: 'aggregate', group_by: ['fingerprint', 'event'], metrics: ['count', 'errors', 'error_rate', 'p50', 'p95', 'p99', 'cost'], limit: 500 }, 'group_by fingerprint+event, all metrics, limit 500'), 'aggregate');
    ok(await measure('query_runtime_logs', { mode: 'aggregate', group_by: ['kind'], bucket: '5m', limit: 500 }, 'group_by kind, bucket 5m, limit 500'), 'aggregate bucket');
  });

  it('query_runtime_logs, sql: selecting content and metadata', async () => {
    const all = ok(await measure('query_runtime_logs', { mode: 'sql', sql: 'SELECT * FROM logs ORDER BY ts DESC' }, 'SELECT * ORDER BY ts DESC'), 'sql *');
    expect(all['truncated']).toBe(true);
    expect(all['truncated_reason']).toMatch(/OFFSET/);
    ok(await measure('query_runtime_logs', { mode: 'sql', sql: `SELECT ts, content, metadata FROM logs WHERE session_id = '${BUSY_SESSION}' ORDER BY ts`, limit: 500 }, 'SELECT content, metadata of the busy session, limit 500'), 'sql busy');
    // The densest JSON (fewest bytes a token): ids, hashes, timestamps and numbers.
    ok(await measure('query_runtime_logs', { mode: 'sql', sql: 'SELECT id, ts, latency_ms, usd_cost, fingerprint, call_id FROM logs ORDER BY ts DESC', limit: 500 }, 'SELECT id, ts, numbers, fingerprint, limit 500'), 'sql dense');
    ok(await measure('query_runtime_logs', { limit: 500, fields: ['id', 'ts', 'latency_ms', 'usd_cost', 'fingerprint', 'call_id'] }, 'limit 500, ids, hashes and numbers'), 'events dense');
  });

  it('get_log_event: a 50 KB content line, whole and paged', async () => {
    const found = ok(await measure('query_runtime_logs', { where: [{ path: 'metadata.turnId', equals: 'turn_big' }], fields: ['id'], limit: 1 }, 'find the 50 KB event'), 'find');
    const id = String((found['rows'] as S[])[0]!['id']);
    const whole = ok(await measure('get_log_event', { id }, '50 KB content line'), 'get_log_event');
    const cut = whole['cut'] as Array<{ field: string; total_chars: number; next_offset: number | null }>;
    const content = cut.find((c) => c.field === 'content');
    expect(content?.total_chars).toBe(BIG_CONTENT_CHARS);
    expect(content?.next_offset).toEqual(expect.any(Number));
    let offset = 0;
    let pages = 0;
    for (; offset !== null && pages < 40; pages++) {
      const page = ok(await measure('get_log_event', { id, field: 'content', offset }, `50 KB content, field content offset ${pages === 0 ? 0 : 'n'}`), 'page');
      const c = (page['cut'] as Array<{ field: string; next_offset: number | null }>).find((x) => x.field === 'content')!;
      if (c.next_offset === null) break;
      offset = c.next_offset;
    }
    expect(pages, 'paged through the whole content').toBeLessThan(40);
    // Only the first and last page rows are kept in the table.
    const pagesRows = rows.filter((r) => r.args.startsWith('50 KB content, field content offset n'));
    for (const r of pagesRows.slice(0, -1)) rows.splice(rows.indexOf(r), 1);
    ok(await measure('get_log_event', { id, field: 'metadata' }, '50 KB line, field metadata'), 'metadata page');
    const failure = ok(await measure('query_runtime_logs', { event: 'voice_tool_music_play_failed*', fields: ['id'], limit: 1 }, 'find a failure with a stack'), 'find failure');
    ok(await measure('get_log_event', { id: String((failure['rows'] as S[])[0]!['id']) }, 'error event with a 40-frame stack'), 'get failure');
  });

  it('log_timeline: the busy voice session', async () => {
    const t = ok(await measure('log_timeline', { session_id: BUSY_SESSION, limit: 500 }, 'busy session (~470 events), limit 500'), 'timeline 500');
    const total = Number(t['total_events']);
    expect(total).toBeGreaterThan(400);
    // Page through the whole session: every event once, in order, each page saying where the next starts.
    const ids: string[] = [];
    let page = t;
    for (let i = 0; i < 50; i++) {
      ids.push(...(page['events'] as S[]).map((e) => String(e['id'])));
      if (page['next_offset'] === null) break;
      expect(page['truncated']).toBe(true);
      expect(page['truncated_reason']).toContain(`offset ${page['next_offset']}`);
      page = ok(await measure('log_timeline', { session_id: BUSY_SESSION, limit: 500, offset: page['next_offset'] }, 'busy session, limit 500, next page'), 'timeline page');
    }
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
    ok(await measure('log_timeline', { session_id: BUSY_SESSION }, 'busy session, default limit'), 'timeline default');
  });

  let anomalyId = '';
  it('detect_anomalies: many anomalies at once', async () => {
    const d = ok(await measure('detect_anomalies', {}, 'defaults (30 tools failing + the bot incident)'), 'detect');
    const anomalies = d['anomalies'] as Array<{ id: string; rule: string }>;
    expect(Number(d['total_anomalies'])).toBeGreaterThan(10);
    if (anomalies.length < Number(d['total_anomalies'])) {
      expect(d['next_offset']).toBe(anomalies.length);
      const next = ok(await measure('detect_anomalies', { offset: d['next_offset'], at: d['evaluated_at'] }, 'next page (offset, at)'), 'detect page 2');
      expect((next['anomalies'] as Array<{ id: string }>)[0]!.id).not.toBe(anomalies[0]!.id);
    }
    anomalyId = anomalies.find((a) => a.rule === 'error_rate')?.id ?? anomalies[0]!.id;
    ok(await measure('detect_anomalies', { window: '30m', error_rate_threshold: 0.05, repeated_error_count: 2, new_error_count: 1, latency_factor: 1.2, min_failures: 1 }, 'window 30m, lowest thresholds'), 'detect low');
  });

  it('suspect_commits and verify_fix', async () => {
    ok(await measure('suspect_commits', { anomaly_id: anomalyId, max: 30 }, 'anomaly, max 30'), 'suspects');
    const stack = Array.from({ length: 60 }, (_, i) => `    at handler${i} (src/voice/handlers/handler-${String(i).padStart(3, '0')}.ts:${10 + i}:5)`).join('\n');
    ok(await measure('suspect_commits', { time: '10m', error_text: `Error: queue state undefined\n${stack}`.slice(0, 5000), max: 30, lookback_hours: 720 }, 'time + 60-frame stack, max 30, lookback 720 h'), 'suspects stack');
    ok(await measure('verify_fix', { anomaly_id: anomalyId, time: '5m', window: '5m' }, 'anomaly, time 5m'), 'verify_fix');
  });

  it('git_status, git_log, git_diff on a big change and a long history', async () => {
    const status = ok(await measure('git_status', {}, '180 changed files'), 'status');
    if (status['truncated']) expect(status['truncated_reason']).toMatch(/git_diff/);
    const log = ok(await measure('git_log', { max: 200 }, 'max 200 (225 commits, 2-60 files each)'), 'log 200');
    const commits = log['commits'] as Array<{ sha: string }>;
    expect(commits.length).toBeGreaterThan(0);
    if (commits.length < 200) {
      expect(log['next_offset']).toBe(commits.length);
      const next = ok(await measure('git_log', { max: 200, offset: log['next_offset'] }, 'max 200, next page'), 'log page 2');
      expect((next['commits'] as Array<{ sha: string }>)[0]!.sha).not.toBe(commits[0]!.sha);
    }
    ok(await measure('git_log', {}, 'default'), 'log default');
    const diff = ok(await measure('git_diff', {}, 'working, 181 files, page 0'), 'diff');
    expect(diff['next_page']).toEqual(expect.any(Number));
    ok(await measure('git_diff', { stat_only: true }, 'working, stat_only'), 'diff stat');
    ok(await measure('git_diff', { mode: 'range', base: 'HEAD~200', head: 'HEAD' }, 'range HEAD~200...HEAD'), 'diff range');
  });

  it('run_typecheck and run_tests with many errors and failures', { timeout: 600_000 }, async () => {
    const tc = ok(await measure('run_typecheck', {}, '~80 type errors'), 'typecheck');
    expect(tc['ok']).toBe(false);
    const tests = ok(await measure('run_tests', {}, '150 failing tests'), 'tests');
    expect(tests['ok']).toBe(false);
    expect((tests['counts'] as { failed: number } | null)?.failed).toBeGreaterThanOrEqual(150);
    // Not every failure is listed: the result says so and where the rest is.
    expect(tests['truncated_reason']).toMatch(/failures: \d+ of \d+ listed.*selfscope:\/\/runs\/run-[\w-]+\?view=failures \(every failure as JSON, paged\)/);
  });

  it('git_branch_create, git_commit of a big change, git_pr_create, git_pr_merge', { timeout: 600_000 }, async () => {
    const branch = ok(await measure('git_branch_create', { name: 'sizes-big-commit' }), 'branch');
    const worktree = String(branch['worktree']);
    await fs.mkdir(path.join(worktree, 'src', 'generated'), { recursive: true });
    for (let n = 0; n < 400; n++) await fs.writeFile(path.join(worktree, 'src', 'generated', `voice-command-table-entry-${String(n).padStart(4, '0')}.ts`), `export const entry${n} = ${n};\n`);
    expect(ok(await measure('run_typecheck', { worktree }, 'branch worktree, passing'), 'typecheck')['ok']).toBe(true);
    expect(ok(await measure('run_tests', { worktree }, 'branch worktree, passing'), 'tests')['ok']).toBe(true);
    const commit = ok(await measure('git_commit', { worktree, message: 'Generate the voice command table\n\nOne file per entry.' }, '400 new files'), 'commit');
    expect(commit['files_total']).toBe(400);
    ok(await measure('git_pr_create', { worktree, title: 'Generate the voice command table', summary: 'x'.repeat(2000), anomaly_id: anomalyId, queries: Array.from({ length: 10 }, () => JSON.stringify({ mode: 'sql', sql: 'SELECT 1' }).padEnd(400, ' ')) }, 'local proposal, 400 files'), 'pr');
    await measure('git_pr_merge', { number: 1 }, 'no GitHub configured');
  });

  it('measured every tool', () => {
    expect([...measured].sort()).toEqual(ALL_TOOLS.map((t) => t.name).sort());
  });
});

describe('the boundary holds every tool result to limits.resultBytes', () => {
  const limits = { fieldBytes: 2048, resultBytes: 10_000 };
  it('drops the text of a trusted tool before the total exceeds it, and refuses a structured result that alone does', () => {
    const files = Array.from({ length: 60 }, (_, i) => ({ path: `src/file-${i}.ts`, patch: 'p'.repeat(100) }));
    const fits = toolCallResult({ name: 'git_diff', untrusted: false }, { structured: { files }, text: 't'.repeat(5000) }, limits, silentLogger);
    expect(fits.isError).toBeUndefined();
    expect(fits.structuredContent).toEqual({ files });
    expect((fits.content[0] as { text: string }).text).toMatch(/text rendering was left out/);
    const tooBig = toolCallResult({ name: 'git_diff', untrusted: false }, { structured: { files: [...files, ...files] }, text: '' }, limits, silentLogger);
    expect(tooBig.isError).toBe(true);
    expect((tooBig.content[0] as { text: string }).text).toMatch(/more than limits.resultBytes/);
  });
});
