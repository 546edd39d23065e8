import { neutralizeMarkers } from './delimit.js';
import { escapeControl } from './escape.js';
import { redactSecrets } from './secrets.js';

/**
 * Cuts `text` to at most `maxBytes` UTF-8 bytes (never inside a character) and says how
 * much was cut, so a reader knows the value is partial.
 */
export function truncateBytes(text: string, maxBytes: number): { text: string; cutBytes: number } {
  // Every UTF-16 unit is at most 3 UTF-8 bytes: short text needs no encoding.
  if (text.length * 3 <= maxBytes) return { text, cutBytes: 0 };
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return { text, cutBytes: 0 };
  let end = Math.max(0, maxBytes);
  // Step back to a character boundary (continuation bytes are 10xxxxxx).
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return { text: buf.subarray(0, end).toString('utf8'), cutBytes: buf.length - end };
}

export function cutMarker(cutBytes: number): string {
  return `…[cut ${cutBytes} bytes]`;
}

// Characters kept past the cap before redaction, so that a secret that straddles the cap
// is still whole when the patterns look for it (tokens are at most a few hundred characters;
// an unterminated private key is redacted to the end anyway).
const REDACTION_MARGIN = 4096;

/**
 * The one way untrusted text (log content, error messages from logs, test output) is made
 * fit to show: secrets redacted, control and invisible characters escaped, marker-like text
 * neutralised, size bounded — the result, marker included, is at most `maxBytes` bytes
 * (`…[cut N bytes]` says how much was dropped). Sanitising a result again changes nothing.
 */
export function sanitizeUntrusted(
  text: string,
  maxBytes: number,
  options: { keepNewlines?: boolean } = {},
): { text: string; cutBytes: number } {
  let input = text;
  let restBytes = 0;
  // Each kept character costs at least a byte, so nothing past maxBytes characters survives the
  // cut: a 5 MB value is not scanned in full.
  if (text.length > maxBytes + REDACTION_MARGIN) {
    input = text.slice(0, maxBytes + REDACTION_MARGIN);
    restBytes = Buffer.byteLength(text.slice(maxBytes + REDACTION_MARGIN), 'utf8');
  }
  const clean = neutralizeMarkers(escapeControl(redactSecrets(input), options));
  if (restBytes === 0 && clean.length * 3 <= maxBytes) return { text: clean, cutBytes: 0 };
  const total = Buffer.byteLength(clean, 'utf8') + restBytes;
  if (total <= maxBytes) return { text: clean, cutBytes: 0 };
  // The marker fits inside the budget: its number is at most `total`, so reserve that long a marker.
  const reserve = Buffer.byteLength(cutMarker(total), 'utf8');
  const kept = truncateBytes(clean, Math.max(0, maxBytes - reserve)).text;
  const cutBytes = total - Buffer.byteLength(kept, 'utf8');
  return { text: kept + cutMarker(cutBytes), cutBytes };
}

export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
