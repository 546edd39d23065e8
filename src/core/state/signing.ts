import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Signatures for the records the guardrails trust (verification runs, human approvals).
 * The key lives in the private directory (mode 0600), outside the repository and hidden
 * from every check sandbox, so neither the agent's edits nor the code it asks selfscope to
 * run can sign anything.
 *
 * A signature covers the table a record belongs to and the whole record, and a record is
 * only believed when every column used to find or order it equals the signed value: a row
 * copied onto another tree, kind or subject, or edited in place, fails that check.
 */
export async function recordKey(privateDirPath: string): Promise<Buffer> {
  const file = path.join(privateDirPath, 'record-key');
  try {
    const key = await fs.readFile(file);
    if (key.length >= 32) return key;
  } catch {
    // first use
  }
  await fs.mkdir(privateDirPath, { recursive: true, mode: 0o700 });
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

const DOMAIN = 'selfscope-record/2';

/** The MAC of `record` (its exact JSON text) as a row of `table`. */
export function sealRecord(key: Buffer, table: string, record: string): string {
  return createHmac('sha256', key).update(`${DOMAIN}\n${table}\n`).update(record).digest('hex');
}

export type Unsealed<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Verifies a stored row: the MAC over its record, then that each named column holds exactly
 * the record's own value for that field (`columns` maps column name to record field).
 */
export function unsealRecord<T extends object>(key: Buffer, table: string, row: { record: string; mac: string } & Record<string, unknown>, columns: Readonly<Record<string, keyof T & string>>): Unsealed<T> {
  const expected = Buffer.from(sealRecord(key, table, row.record), 'hex');
  const given = Buffer.from(typeof row.mac === 'string' ? row.mac : '', 'hex');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'signature does not match' };
  let value: T;
  try {
    value = JSON.parse(row.record) as T;
  } catch {
    return { ok: false, reason: 'record is not JSON' };
  }
  for (const [column, field] of Object.entries(columns)) {
    if (String(row[column]) !== String((value as Record<string, unknown>)[field])) return { ok: false, reason: `column ${column} differs from the signed ${field}` };
  }
  return { ok: true, value };
}
