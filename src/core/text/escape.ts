/**
 * Escaping for untrusted text (log content, test output, git output) before it is shown
 * to an agent or a terminal: ANSI escapes, bidi overrides, zero-width and other invisible
 * format characters become visible `\u{..}` sequences; tab and newline survive where allowed.
 */

// C0 and C1 controls, DEL; soft hyphen, combining grapheme joiner, Arabic letter mark,
// Hangul and Khmer fillers, Mongolian selectors; zero-width space/joiners and direction
// marks; line/paragraph separators; bidi embeddings, overrides and isolates; word joiner
// and invisible operators; variation selectors (except U+FE0F, the emoji one: alone it
// cannot carry data); BOM; interlinear annotations; shorthand and musical format controls;
// tag characters (invisible ASCII) and the variation selector supplement. Every one can
// hide, reorder or smuggle what a reader sees.
const INVISIBLE =
  '\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\u00ad\\u034f\\u061c\\u115f\\u1160\\u17b4\\u17b5\\u180b-\\u180f' +
  '\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u206f\\u3164\\ufe00-\\ufe0e\\ufeff\\uffa0\\ufff9-\\ufffb' +
  '\\u{1bca0}-\\u{1bca3}\\u{1d173}-\\u{1d17a}\\u{e0000}-\\u{e007f}\\u{e0100}-\\u{e01ef}';
// Keeps \t, \n and a \r that ends a line (\r\n); a lone \r (which rewrites a terminal line) is escaped.
const UNSAFE_CHARS = new RegExp(`[${INVISIBLE}]|\\r(?!\\n)`, 'gu');
const UNSAFE_WITH_NEWLINES = new RegExp(`[${INVISIBLE}\\t\\n\\r]`, 'gu');
const ANY_UNSAFE = new RegExp(`[${INVISIBLE}\\t\\n\\r]`, 'u');

function visible(ch: string): string {
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  return `\\u{${ch.codePointAt(0)!.toString(16)}}`;
}

export interface EscapeOptions {
  /** Keep \n, \t (and \r\n) as they are (multi-line text such as test output). Default true. */
  keepNewlines?: boolean;
}

export function escapeControl(text: string, options: EscapeOptions = {}): string {
  // Most values have nothing to escape: one test, no copy.
  if (!ANY_UNSAFE.test(text)) return text;
  const pattern = options.keepNewlines === false ? UNSAFE_WITH_NEWLINES : UNSAFE_CHARS;
  return text.replace(pattern, visible);
}
