import { randomBytes } from 'node:crypto';
import { recordKey, sign, verifySignature } from '../state/signing.js';
import { StateStore } from '../state/store.js';

/**
 * Human approvals: for a commit that touches security-sensitive paths (subject: the tree
 * committed) or for a merge (subject: the pull request). Only a human path creates one: the
 * client's elicitation accepted by its user, or the `selfscope approve` command at an
 * interactive terminal. No tool argument can.
 */

export type ApprovalKind = 'sensitive_commit' | 'merge';

export interface Approval {
  id: string;
  kind: ApprovalKind;
  subject: string;
  approved_by: string;
  via: 'elicitation' | 'cli' | 'github_review';
  at: string;
}

const SCHEMA = ['CREATE TABLE IF NOT EXISTS approvals (id VARCHAR PRIMARY KEY, kind VARCHAR, subject VARCHAR, record VARCHAR, mac VARCHAR)'];

export async function recordApproval(stateDirPath: string, approval: Omit<Approval, 'id' | 'at'>): Promise<Approval> {
  const full: Approval = { ...approval, id: `apr-${randomBytes(5).toString('hex')}`, at: new Date().toISOString() };
  const key = await recordKey(stateDirPath);
  const record = JSON.stringify(full);
  await StateStore.inStateDir(stateDirPath).run('approvals', SCHEMA, async (conn) => {
    const stmt = await conn.prepare('INSERT INTO approvals VALUES ($1, $2, $3, $4, $5)');
    stmt.bind([full.id, full.kind, full.subject, record, sign(key, record)]);
    await stmt.run();
  });
  return full;
}

export async function findApproval(stateDirPath: string, kind: ApprovalKind, subject: string): Promise<Approval | null> {
  const key = await recordKey(stateDirPath);
  const rows = await StateStore.inStateDir(stateDirPath).run('approvals', SCHEMA, async (conn) => {
    const stmt = await conn.prepare('SELECT record, mac FROM approvals WHERE kind = $1 AND subject = $2');
    stmt.bind([kind, subject]);
    return (await stmt.runAndReadAll()).getRowObjectsJS() as Array<{ record: string; mac: string }>;
  });
  for (const row of rows) if (verifySignature(key, row.record, row.mac)) return JSON.parse(row.record) as Approval;
  return null;
}
