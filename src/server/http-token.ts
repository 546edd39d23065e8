import { randomBytes, createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export const TOKEN_FILE_NAME = 'http-token';

/**
 * The HTTP bearer token: SELFSCOPE_TOKEN when set, else the one stored (mode 0600) in the
 * state directory, generated on first start. Returns where it came from, never logs it.
 */
export async function resolveHttpToken(stateDirPath: string, env: NodeJS.ProcessEnv = process.env): Promise<{ token: string; source: 'env' | 'file'; file?: string }> {
  const fromEnv = env['SELFSCOPE_TOKEN'];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.length < 16) throw new Error('SELFSCOPE_TOKEN is too short: use at least 16 random characters (e.g. `openssl rand -hex 32`).');
    return { token: fromEnv, source: 'env' };
  }
  const file = path.join(stateDirPath, TOKEN_FILE_NAME);
  try {
    const stored = (await fs.readFile(file, 'utf8')).trim();
    if (stored.length >= 16) {
      await fs.chmod(file, 0o600);
      return { token: stored, source: 'file', file };
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
  return { token, source: 'file', file };
}

/** Constant-time comparison of a presented token with the expected one. */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
