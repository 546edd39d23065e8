import { randomBytes, createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export const TOKEN_FILE_NAME = 'http-token';

/**
 * The HTTP bearer token: SELFSCOPE_TOKEN when set, else the one stored (mode 0600) in the
 * state directory, generated on first start. Returns where it came from, never logs it.
 * SELFSCOPE_TOKEN may list several tokens separated by commas (one per client, or the new
 * and the old one while clients move over); each session stays bound to the one that opened it.
 */
export async function resolveHttpToken(
  stateDirPath: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ token: string; tokens: string[]; source: 'env' | 'file'; file?: string }> {
  const fromEnv = env['SELFSCOPE_TOKEN'];
  if (fromEnv !== undefined && fromEnv !== '') {
    const tokens = fromEnv.split(',').map((t) => t.trim()).filter(Boolean);
    if (tokens.length === 0 || tokens.some((t) => t.length < 16)) {
      throw new Error('SELFSCOPE_TOKEN is too short: use at least 16 random characters per token (e.g. `openssl rand -hex 32`), several separated by commas.');
    }
    return { token: tokens[0]!, tokens, source: 'env' };
  }
  const file = path.join(stateDirPath, TOKEN_FILE_NAME);
  try {
    const stored = (await fs.readFile(file, 'utf8')).trim();
    if (stored.length >= 16) {
      await fs.chmod(file, 0o600);
      return { token: stored, tokens: [stored], source: 'file', file };
    }
  } catch {
    // Not there yet: generate below.
  }
  const token = randomBytes(32).toString('hex');
  await fs.mkdir(stateDirPath, { recursive: true, mode: 0o700 });
  // Write to a temporary file first so a crash never leaves a half-written token.
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, `${token}\n`, { mode: 0o600 });
  await fs.rename(tmp, file);
  return { token, tokens: [token], source: 'file', file };
}

/** Constant-time comparison of a presented token with the expected one. */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Whether `presented` is one of `tokens`; compares with every one, so the time says nothing about which. */
export function tokenMatchesAny(presented: string, tokens: readonly string[]): boolean {
  let found = false;
  for (const token of tokens) found = tokenMatches(presented, token) || found;
  return found;
}
