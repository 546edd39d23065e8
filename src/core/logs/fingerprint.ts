/**
 * A failure's fingerprint: its text with the variable parts replaced by placeholders, so
 * that `gateway_shard_error: shard=3 Connection reset` and `shard=7 ...` are one error
 * while different messages stay apart. Ids of every common shape become placeholders
 * (snowflakes, UUIDs, hex, `vs_935027_e2ss`, `req_011CZ…`, 11-character video ids, URLs);
 * what tells errors apart stays readable: HTTP status codes (`429`), model names
 * (`claude-sonnet-4-6`, `gpt-4o`), property names in single quotes (`(reading 'foo')`) and
 * error codes (`rate_limit_error`). Deterministic and cheap; the parser runs it only for
 * failures, memoised.
 */

const MAX_INPUT = 2000;
const MAX_OUTPUT = 300;

// Quoted values are data, except what names a thing rather than holds a value: a JSON key,
// a snake_case code ("rate_limit_error"), and a single-quoted identifier — the engine's way
// of naming a property (`Cannot read properties of undefined (reading 'foo')`).
const DOUBLE_QUOTED = /"((?:[^"\\]|\\.){0,400})"/g;
const SINGLE_QUOTED = /(?<![A-Za-z0-9])'((?:[^'\\\n]|\\.){0,400})'(?![A-Za-z0-9])/g;
const BACKTICKED = /`[^`]{0,400}`/g;
const SNAKE_CODE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$/;
const IDENTIFIER = /^[A-Za-z_$][\w$.-]{0,63}$/;

const URL = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
const TIME = /\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?\b/g;
// Paths: absolute or relative with at least one separator, optionally :line:col.
const PATH = /(?:[A-Za-z]:)?(?:\.{0,2}\/)?(?:[\w.@-]+\/)+[\w.@-]+(?::\d+){0,2}/g;
const DURATION = /\b\d+(?:\.\d+)?\s?(?:ms|s|sec|secs|seconds|m|min|mins|minutes|h|hours|us|µs|ns)\b/gi;
// Every other word; each is kept, or replaced when it holds digits that make it an id or a count.
const TOKEN = /[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?/g;

const MODEL = /^(?:claude|gpt|chatgpt|o[1-9]|gemini|gemma|llama|mistral|mixtral|codestral|grok|sonar|deepseek|qwen|phi|text-embedding|whisper|tts|dall-e|eleven|sonnet|haiku|opus|kimi|glm)(?:[-_.:]|\d|$)/i;
// A 3-digit 1xx-5xx number is a status code after one of these words, at the start, or before a reason phrase / JSON body.
const STATUS_BEFORE = /(?:^|\b(?:status|code|http(?:\/[\d.]+)?|error|err|returned|responded(?: with)?|failed with|got|received))[\s:=#(]*$/i;
const STATUS_AFTER = /^\s*(?:\{|-?\s*[A-Z][a-z]|[A-Z]{2,}\b|[a-z]+_[a-z_]+)/;

/** The fingerprint of a message (error text, an event line). */
export function fingerprint(text: string | null | undefined): string {
  if (!text) return '';
  let out = text.length > MAX_INPUT ? text.slice(0, MAX_INPUT) : text;
  out = summarizeJsonBody(out);
  out = out.replace(DOUBLE_QUOTED, (m, inner: string, offset: number, s: string) => (SNAKE_CODE.test(inner) || /^\s*:/.test(s.slice(offset + m.length, offset + m.length + 4)) ? m : '"<str>"'));
  out = out.replace(SINGLE_QUOTED, (m, inner: string) => (IDENTIFIER.test(inner) ? m : "'<str>'"));
  out = out.replace(BACKTICKED, '`<str>`');
  out = out.replace(URL, '<url>');
  out = out.replace(UUID, '<uuid>');
  out = out.replace(TIME, '<time>');
  out = out.replace(PATH, '<path>');
  out = out.replace(DURATION, '<dur>');
  out = out.replace(TOKEN, token);
  return out.replace(/\s+/g, ' ').trim().slice(0, MAX_OUTPUT);
}

/**
 * `429 {"type":"error","error":{"type":"rate_limit_error","message":"…"},"request_id":"req_…"}`
 * (an API error body after its status) becomes `429 rate_limit_error: …`: the parts that
 * tell errors apart, without the request id.
 */
function summarizeJsonBody(text: string): string {
  const start = text.indexOf('{"');
  if (start < 0 || !text.trimEnd().endsWith('}')) return text;
  let body: unknown;
  try {
    body = JSON.parse(text.slice(start));
  } catch {
    return text;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return text;
  const outer = body as Record<string, unknown>;
  const inner = outer['error'] !== null && typeof outer['error'] === 'object' && !Array.isArray(outer['error']) ? (outer['error'] as Record<string, unknown>) : outer;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null);
  const code = str(inner['type']) ?? str(inner['code']) ?? (typeof outer['error'] === 'string' ? outer['error'] : null);
  const message = str(inner['message']) ?? str(outer['message']) ?? str(outer['detail']);
  if (code === null && message === null) return text;
  return `${text.slice(0, start)}${[code, message].filter((p) => p !== null).join(': ')}`;
}

function token(tok: string, offset: number, whole: string): string {
  if (!/\d/.test(tok)) return tok;
  if (MODEL.test(tok)) return tok;
  if (/^\d+$/.test(tok)) {
    if (tok.length >= 17 && tok.length <= 20) return '<id>';
    if (tok.length === 3 && tok >= '100' && tok < '600' && STATUS_BEFORE.test(whole.slice(Math.max(0, offset - 24), offset)) ) return tok;
    if (tok.length === 3 && tok >= '100' && tok < '600' && STATUS_AFTER.test(whole.slice(offset + 3, offset + 40))) return tok;
    return '<n>';
  }
  if (/^\d+(?:\.\d+)+$/.test(tok)) return '<n>';
  if (/^0x[0-9a-f]+$/i.test(tok)) return '<hex>';
  if (tok.includes('.')) return tok.split('.').map(word).join('.');
  return word(tok);
}

/** One word without dots that holds a digit. */
function word(w: string): string {
  if (!/\d/.test(w)) return w;
  if (/^\d+$/.test(w)) return w.length >= 17 && w.length <= 20 ? '<id>' : '<n>';
  if (w.length >= 8 && /^[0-9a-f]+$/i.test(w)) return '<hex>';
  // A name and a counter (call_8, vs-91, shard-3): instances of one thing.
  const counted = /^((?:[A-Za-z]+[_-])+)\d+$/.exec(w);
  if (counted) return `${counted[1]}<n>`;
  // An 11-character video id (dQw4w9WgXcQ): mixed case, or digits between letters.
  if (w.length === 11 && /[A-Za-z]/.test(w) && ((/[a-z]/.test(w) && /[A-Z]/.test(w)) || /[A-Za-z]\d+[A-Za-z]/.test(w))) return '<id>';
  const parts = w.split(/([_-])/);
  if (parts.some((p, i) => i % 2 === 0 && randomPart(p))) {
    // Keep the readable prefix (vs_, req_, chatcmpl-) and drop the rest.
    let prefix = '';
    for (let i = 0; i + 1 < parts.length && /^[A-Za-z]+$/.test(parts[i]!); i += 2) prefix += parts[i]! + parts[i + 1]!;
    return `${prefix}<id>`;
  }
  return parts.map((p, i) => (i % 2 === 0 && /^\d+$/.test(p) ? '<n>' : p)).join('');
}

/** A part that looks generated: digits between letters (e2ss), a long number, or long mixed letters and digits. */
function randomPart(p: string): boolean {
  if (/^\d{5,}$/.test(p)) return true;
  if (!/\d/.test(p) || !/[A-Za-z]/.test(p)) return false;
  if (p.length >= 8) return true;
  if (p.length >= 4 && /[A-Za-z]\d+[A-Za-z]/.test(p)) return true;
  return p.length >= 6 && /^\d+[A-Za-z]/.test(p);
}
