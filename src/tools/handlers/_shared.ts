import type { Freshness } from '../../core/logs/log-index.js';
import { describeRefreshProgress, type RefreshProgressListener } from '../../core/logs/refresh-progress.js';
import { untrusted, type UntrustedPart } from '../../core/text/delimit.js';
import { humanAge } from '../../core/text/durations.js';
import type { ToolContext } from '../define-tool.js';

/** What several tool handlers share: bounds and the text rendering. */


/**
 * A compact aligned table, one line per row (cells single-line and cut at `maxCell`), with
 * as many rows as fit in `maxBytes`; the last line says how many were left to structuredContent.
 */
export function textTable(rows: ReadonlyArray<Record<string, unknown>>, columns: readonly string[], maxCell = 60, maxBytes = 12_000): string {
  if (rows.length === 0) return '(no rows)';
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    const one = s.replace(/\s+/g, ' ');
    return one.length > maxCell ? `${one.slice(0, maxCell - 1)}…` : one;
  };
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  const lines = [line([...columns])];
  let used = Buffer.byteLength(lines[0]!);
  for (const [i, r] of cells.entries()) {
    const next = line(r);
    used += Buffer.byteLength(next) + 1;
    if (used > maxBytes) {
      lines.push(`… ${cells.length - i} more row(s) in structuredContent`);
      break;
    }
    lines.push(next);
  }
  return lines.join('\n');
}

/** Marks rendered log data: the boundary sanitises it (cut at `maxBytes`) and delimits it with the response's nonce. */
export function untrustedText(body: string, maxBytes?: number): UntrustedPart {
  return untrusted(body, maxBytes);
}

/** Bytes the text rendering of a result may use: the structured result gets the rest of limits.resultBytes. */
export function textBudget(resultBytes: number): number {
  return Math.max(1024, Math.floor(resultBytes * 0.12));
}

/**
 * Bytes a tool gives its structured result (what the model reads): 80% of limits.resultBytes,
 * less `reserve` for the fields around its list. With the default 40,000 that stays under
 * ~13,000 tokens even for the densest JSON measured (2.5 bytes a token: numbers and timestamps).
 */
export function structuredBudget(resultBytes: number, reserve = 0): number {
  return Math.max(1024, Math.floor(resultBytes * 0.8) - reserve);
}

/** Bytes of `value` as JSON. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '');
}

/** The longest prefix of `items` whose JSON fits in `maxBytes`, and at least `min` items. */
export function fitItems<T>(items: readonly T[], maxBytes: number, min = 0): T[] {
  const out: T[] = [];
  let used = 2;
  for (const item of items) {
    const size = jsonBytes(item) + 1;
    if (used + size > maxBytes && out.length >= min) break;
    used += size;
    out.push(item);
  }
  return out;
}

/** Lines joined while they fit in `maxBytes`; the last says how many were left to structuredContent. */
export function fitLines(lines: readonly string[], maxBytes: number, rest = 'in structuredContent'): string {
  const out: string[] = [];
  let used = 0;
  for (const [i, line] of lines.entries()) {
    used += Buffer.byteLength(line) + 1;
    if (used > maxBytes && out.length > 0) {
      out.push(`… ${lines.length - i} more line(s) ${rest}`);
      break;
    }
    out.push(line);
  }
  return out.join('\n');
}

export function freshnessLine(f: Freshness): string {
  return `index: ${f.events} events, newest ${f.newest_event ?? 'none'}${f.lag_ms !== null ? ` (${humanAge(f.lag_ms)})` : ''}, ${f.mode}`;
}

/** How often a tool tells its client how the index is catching up. */
const INDEXING_PROGRESS_MS = 200;

/**
 * The log index's refresh progress as MCP progress notifications while a tool waits for it:
 * progress and total in bytes, and a sentence ("indexing the log: 312 MB of 690 MB, 41k
 * events/s, 20 s left"). At most every INDEXING_PROGRESS_MS, and always increasing, as
 * MCP requires. `progress` does nothing when the client sent no progressToken.
 */
export function indexingProgress(progress: ToolContext['progress']): RefreshProgressListener {
  let lastAt = -Infinity;
  let lastBytes = -1;
  return (p) => {
    const now = performance.now();
    if (p.bytes_done <= lastBytes || (!p.final && now - lastAt < INDEXING_PROGRESS_MS)) return;
    lastAt = now;
    lastBytes = p.bytes_done;
    void progress(p.bytes_done, p.bytes_total, `${p.final ? 'indexed' : 'indexing'} the log: ${describeRefreshProgress(p)}`).catch(() => {});
  };
}
