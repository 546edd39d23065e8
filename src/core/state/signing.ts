import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Signatures for records the guardrails trust (verification runs, human approvals), with a
 * key kept in the state directory (mode 0600). A record written into the database by hand
 * is then ignored. An agent with a shell as the same OS user can read the key: the
 * boundary against that is the OS (another user, a sandbox), as the README says.
 */
export async function recordKey(stateDirPath: string): Promise<Buffer> {
  const file = path.join(stateDirPath, 'record-key');
  try {
    const key = await fs.readFile(file);
    if (key.length >= 32) return key;
  } catch {
    // first use
  }
  await fs.mkdir(stateDirPath, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, randomBytes(32), { mode: 0o600 });
  try {
    await fs.link(tmp, file); // another process may have created it meanwhile: keep theirs
  } catch {
    // exists
  } finally {
    await fs.rm(tmp, { force: true });
  }
  return fs.readFile(file);
}

export function sign(key: Buffer, record: string): string {
  return createHmac('sha256', key).update(record).digest('hex');
}

export function verifySignature(key: Buffer, record: string, mac: string): boolean {
  const expected = Buffer.from(sign(key, record), 'hex');
  const given = Buffer.from(mac, 'hex');
  return expected.length === given.length && timingSafeEqual(expected, given);
}
