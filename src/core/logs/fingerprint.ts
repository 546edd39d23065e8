/**
 * An event's fingerprint: its text with the variable parts replaced by placeholders, so
 * that `gateway_shard_error: shard=3 Connection reset` and `shard=7 ...` are one error
 * while different messages stay apart. Deterministic and cheap: it runs once per line at
 * ingest.
 */
const RULES: ReadonlyArray<[RegExp, string]> = [
  // Quoted values first: what is inside quotes is data, whatever it looks like.
  [/"(?:[^"\\]|\\.){0,400}"/g, '"<str>"'],
  [/'(?:[^'\\]|\\.){0,400}'/g, "'<str>'"],
  [/`[^`]{0,400}`/g, '`<str>`'],
  [/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, '<url>'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?\b/g, '<time>'],
  // Paths: absolute or relative with at least one separator, optionally :line:col.
  [/(?:[A-Za-z]:)?(?:\.{0,2}\/)?(?:[\w.@-]+\/)+[\w.@-]+(?::\d+){0,2}/g, '<path>'],
  [/\b0x[0-9a-f]+\b/gi, '<hex>'],
  [/\b\d{17,20}\b/g, '<id>'],
  // Hex digests and ids of 8+ characters that hold at least one digit.
  [/\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b/gi, '<hex>'],
  [/\b\d+(?:\.\d+)?\s?(?:ms|s|sec|secs|seconds|m|min|mins|minutes|h|hours|us|µs|ns)\b/gi, '<dur>'],
  [/\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, '<n>'],
  // Identifiers that end in digits (call_8, vs-91) are instances of the same thing.
  [/\b([A-Za-z]+[_-])\d+\b/g, '$1<n>'],
];

const MAX_INPUT = 2000;

export function fingerprint(text: string | null | undefined): string {
  if (!text) return '';
  let out = text.length > MAX_INPUT ? text.slice(0, MAX_INPUT) : text;
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  return out.replace(/\s+/g, ' ').trim().slice(0, 300);
}
