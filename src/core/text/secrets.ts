/**
 * Secret detection and redaction. One list of patterns serves both uses: redacting
 * untrusted text before it leaves selfscope, and refusing a commit that adds a secret.
 */

export interface SecretPattern {
  kind: string;
  pattern: RegExp;
}

// Each pattern is global so that it can be used with matchAll/replace; keep them anchored
// on formats with a recognisable prefix so ordinary text is not mangled. The edges are "not
// a letter or digit" rather than \b: `\b` sees no edge at `_`, so `x_ghp_…` or `ghp_…_x` slipped by.
const START = '(?<![A-Za-z0-9])';
const END = '(?![A-Za-z0-9])';
const re = (source: string, flags = 'g') => new RegExp(source, flags);

export const SECRET_PATTERNS: readonly SecretPattern[] = [
  { kind: 'private_key', pattern: /-----BEGIN ((?:RSA|EC|DSA|OPENSSH|PGP|ENCRYPTED) )?PRIVATE KEY( BLOCK)?-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY( BLOCK)?-----|$)/g },
  { kind: 'github_token', pattern: re(`${START}(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})${END}`) },
  { kind: 'openai_key', pattern: re(`${START}sk-(?:proj-|ant-(?:api\\d\\d-)?)?[A-Za-z0-9_-]{20,}`) },
  { kind: 'aws_access_key', pattern: re(`${START}(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}${END}`) },
  { kind: 'aws_secret_key', pattern: re(`${START}aws_secret_access_key\\s*[=:]\\s*["']?[A-Za-z0-9/+=]{40}${END}`, 'gi') },
  { kind: 'slack_token', pattern: re(`${START}xox[abposr]-[A-Za-z0-9-]{10,}`) },
  { kind: 'google_api_key', pattern: re(`${START}AIza[0-9A-Za-z_-]{35}${END}`) },
  { kind: 'discord_token', pattern: re(`${START}[MNO][A-Za-z\\d_-]{23,25}\\.[A-Za-z\\d_-]{6}\\.[A-Za-z\\d_-]{27,38}${END}`) },
  { kind: 'jwt', pattern: re(`${START}eyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}`) },
  { kind: 'bearer', pattern: re(`${START}(bearer|token)\\s+[A-Za-z0-9._~+/-]{20,}=*`, 'gi') },
  { kind: 'basic_auth_url', pattern: re(`${START}[a-z][a-z0-9+.-]*:\\/\\/[^\\s/:@]+:[^\\s/@]+@`, 'gi') },
];

// One cheap test before the patterns: the literal (or, for Discord tokens, the dotted
// shape) each pattern cannot match without, case-insensitive. Most values hold none, and
// skip the eleven scans. A pattern added above adds its literal here (the tests redact a
// sample of every pattern, so a missing literal fails them).
const SECRET_HINT = /-----BEGIN|gh[pousr]_|github_pat_|sk-|AKIA|ASIA|ABIA|ACCA|aws_secret_access_key|xox[abposr]-|AIza|eyJ|bearer|token|:\/\/|\.[A-Za-z\d_-]{6}\./i;

export interface SecretMatch {
  kind: string;
  /** Offset of the match in the text. */
  index: number;
  length: number;
}

export function findSecrets(text: string): SecretMatch[] {
  const found: SecretMatch[] = [];
  for (const { kind, pattern } of SECRET_PATTERNS) {
    for (const match of text.matchAll(pattern)) {
      found.push({ kind, index: match.index ?? 0, length: match[0].length });
    }
  }
  return found.sort((a, b) => a.index - b.index);
}

export function redactSecrets(text: string): string {
  if (!SECRET_HINT.test(text)) return text;
  let out = text;
  for (const { kind, pattern } of SECRET_PATTERNS) {
    out = out.replace(pattern, `[REDACTED:${kind}]`);
  }
  return out;
}
