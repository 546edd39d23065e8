import { escapeControl } from './escape.js';
import { redactSecrets } from './secrets.js';

/**
 * Cuts `text` to at most `maxBytes` UTF-8 bytes (never inside a character) and says how
 * much was cut, so a reader knows the value is partial.
 */
export function truncateBytes(text: string, maxBytes: number): { text: string; cutBytes: number } {
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

/**
 * The one way untrusted text (log content, error messages from logs, test output) is made
 * fit to show: secrets redacted, control characters escaped, size bounded with a marker.
 */
export function sanitizeUntrusted(
  text: string,
  maxBytes: number,
  options: { keepNewlines?: boolean } = {},
): { text: string; cutBytes: number } {
  const clean = escapeControl(redactSecrets(text), options);
  const { text: cut, cutBytes } = truncateBytes(clean, maxBytes);
  return { text: cutBytes > 0 ? cut + cutMarker(cutBytes) : cut, cutBytes };
}

export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
