import { NotFoundError } from '../../core/errors.js';
import { getEvent } from '../../core/logs/query.js';
import { redactSecrets } from '../../core/text/secrets.js';
import { getLogIndex } from '../../server/engines.js';
import { indexingProgress, textBudget, untrustedText } from './_shared.js';
import type { ToolHandler } from '../define-tool.js';
import { type inputSchema, type outputSchema, BIG_FIELDS } from '../get-log-event.js';
import { neutralizeMarkers } from '../../core/text/delimit.js';
import { escapeControl } from '../../core/text/escape.js';

// Fields that are not big are shown up to this many bytes.
const SMALL_FIELD_BYTES = 512;

/**
 * The longest window of `value` from `from` whose shown form (escaped, marker-like text
 * neutralised) fits in `maxBytes`, so the boundary's field cap never cuts a page and
 * next_offset lands exactly where the page ended. `value` is already redacted.
 */
function page(value: string, from: number, maxBytes: number, keepNewlines: boolean): { text: string; chars: number } {
  const show = (n: number) => neutralizeMarkers(escapeControl(value.slice(from, from + n), { keepNewlines }));
  const fits = (n: number) => Buffer.byteLength(show(n)) <= maxBytes;
  let n = Math.min(value.length - from, maxBytes);
  if (!fits(n)) {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (fits(mid)) lo = mid;
      else hi = mid - 1;
    }
    n = lo;
  }
  // Never end a page between the two halves of a surrogate pair.
  if (n > 0 && from + n < value.length && /[\ud800-\udbff]/.test(value[from + n - 1]!)) n--;
  return { text: show(n), chars: n };
}

export const handler: ToolHandler<typeof inputSchema, typeof outputSchema> = async (input, { app, progress }) => {
  const index = await getLogIndex(app);
  await index.refresh({ onProgress: indexingProgress(progress) });
  const row = await getEvent(index, input.id);
  if (!row) throw new NotFoundError(`No log event with id ${input.id.slice(0, 80)}.`, { hint: 'Take ids from query_runtime_logs or log_timeline; ids change only if the index is rebuilt.' });
  const { fieldBytes, resultBytes } = app.config.limits;
  // Structured gets 80% of the result; the big fields share it unless one is paged alone.
  const budget = Math.floor(resultBytes * 0.8) - SMALL_FIELD_BYTES * 4;
  const perField = Math.max(256, Math.min(fieldBytes, input.field ? budget : Math.floor(budget / BIG_FIELDS.length)));
  const cut: Array<{ field: string; total_chars: number; shown_from: number; shown_chars: number; next_offset: number | null }> = [];
  const event: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (typeof value !== 'string') {
      event[key] = value;
      continue;
    }
    const isBig = (BIG_FIELDS as readonly string[]).includes(key);
    if (input.field && isBig && key !== input.field) {
      event[key] = `[omitted while paging ${input.field}]`;
      continue;
    }
    // Redacted first, whole: a secret is never split across two pages where no pattern sees it.
    const redacted = redactSecrets(value);
    const from = key === input.field ? Math.min(input.offset, redacted.length) : 0;
    const shown = page(redacted, from, isBig ? perField : Math.min(SMALL_FIELD_BYTES, fieldBytes), key === 'content' || key === 'error');
    event[key] = shown.text;
    if (from > 0 || from + shown.chars < redacted.length) {
      const next = from + shown.chars < redacted.length ? from + shown.chars : null;
      cut.push({ field: key, total_chars: redacted.length, shown_from: from, shown_chars: shown.chars, next_offset: next });
    }
  }
  const lines = Object.entries(event)
    .filter(([k]) => k !== 'metadata' && k !== 'content')
    .map(([k, v]) => `${k}: ${v === null ? '' : String(v)}`);
  lines.push(`content: ${String(event['content'] ?? '')}`, `metadata: ${String(event['metadata'] ?? '')}`);
  const cutNote = cut.map((c) => `${c.field}: chars ${c.shown_from}-${c.shown_from + c.shown_chars} of ${c.total_chars}${c.next_offset !== null ? ` (next: field=${c.field} offset=${c.next_offset})` : ''}`);
  return {
    structured: { id: input.id, event, untrusted: true as const, cut },
    text: [untrustedText(lines.join('\n'), textBudget(resultBytes)), ...(cutNote.length ? [`cut: ${cutNote.join('; ')}`] : [])],
  };
};

