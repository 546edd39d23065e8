import picomatch from 'picomatch';
import { findSecrets } from '../text/secrets.js';

/**
 * The guardrails of the autonomy boundary that look at a change: protected branches,
 * security-sensitive paths, secrets in added lines. Each returns findings as data; the
 * caller refuses and says why. Findings never carry the secret itself.
 */

export function isProtectedBranch(branch: string, protectedBranches: readonly string[], defaultBranch: string): boolean {
  return branch === defaultBranch || protectedBranches.includes(branch);
}

export function sensitivePaths(paths: readonly string[], globs: readonly string[]): string[] {
  const match = picomatch([...globs], { dot: true });
  return paths.filter((p) => match(p));
}

export interface SecretFinding {
  file: string;
  line: number;
  kind: string;
}

/** Secrets in the lines a unified diff (`--unified=0`) adds: file and line, never the value. */
export function secretsInDiff(diff: string): SecretFinding[] {
  const findings: SecretFinding[] = [];
  let file = '';
  let line = 0;
  for (const raw of diff.split('\n')) {
    if (raw.startsWith('+++ ')) {
      file = raw.startsWith('+++ b/') ? raw.slice(6) : raw.slice(4);
      continue;
    }
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(raw);
    if (hunk) {
      line = Number(hunk[1]);
      continue;
    }
    if (raw.startsWith('+') && !raw.startsWith('+++')) {
      for (const s of findSecrets(raw.slice(1))) findings.push({ file, line, kind: s.kind });
      line++;
    }
  }
  return findings;
}

/** `.env` files (not `.env.example`-style templates) must never be committed by an agent. */
export function envFiles(paths: readonly string[]): string[] {
  return paths.filter((p) => /(^|\/)\.env(\.[^/]*)?$/.test(p) && !/\.(example|sample|template|dist)$/.test(p));
}
