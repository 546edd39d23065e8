import { z } from 'zod';
import type { Freshness } from '../core/logs/log-index.js';
import { untrusted, type UntrustedPart } from '../core/text/delimit.js';

/** Pieces several tool files share: schemas of common fields and the text rendering. */

export const freshnessSchema = z.object({
  events: z.number(),
  newest_event: z.string().nullable(),
  lag_ms: z.number().nullable(),
  refreshed_at: z.string().nullable(),
  refresh_ms: z.number().nullable(),
  mode: z.enum(['shared', 'private']),
});

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

export function freshnessLine(f: Freshness): string {
  return `index: ${f.events} events, newest ${f.newest_event ?? 'none'}${f.lag_ms !== null ? ` (${Math.round(f.lag_ms / 1000)} s ago)` : ''}, ${f.mode}`;
}
