/**
 * Escaping for untrusted text (log content, test output, git output) before it is shown
 * to an agent or a terminal: ANSI escapes, bidi overrides, NUL and other control
 * characters become visible `\u{..}` sequences; tab and newline survive where allowed.
 */

// C0 and C1 controls except \t \n \r, DEL, bidi embeddings/overrides/isolates, zero-width
// and line/paragraph separators: every one can hide or reorder what a reader sees.
const UNSAFE_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/gu;
const UNSAFE_WITH_NEWLINES = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/gu;

function visible(ch: string): string {
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  return `\\u{${ch.codePointAt(0)!.toString(16)}}`;
}

export interface EscapeOptions {
  /** Keep \n, \r and \t as they are (multi-line text such as test output). Default true. */
  keepNewlines?: boolean;
}

export function escapeControl(text: string, options: EscapeOptions = {}): string {
  const pattern = options.keepNewlines === false ? UNSAFE_WITH_NEWLINES : UNSAFE_CHARS;
  return text.replace(pattern, visible);
}
