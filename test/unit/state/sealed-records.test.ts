import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readAudit } from '../../../src/core/audit/audit-log.js';
import { recordVerificationRun, verificationFor, type VerificationRun } from '../../../src/core/checks/attestation.js';
import { findApproval, recordApproval } from '../../../src/core/policy/approvals.js';
import { StateStore } from '../../../src/core/state/store.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function privateDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-private-'));
  dirs.push(dir);
  return dir;
}

const PASSING_TREE = 'a'.repeat(40);
const FAILING_TREE = 'b'.repeat(40);

function run(id: string, tree: string, check: 'typecheck' | 'test', ok: boolean, finishedAt = '2026-11-26T10:00:00.000Z'): VerificationRun {
  return { id, tree, worktree: '/w', check, command: ['npm', 'test'], reason: 'test', ok, exit_code: ok ? 0 : 1, counts: null, tree_changed: false, started_at: finishedAt, finished_at: finishedAt, duration_ms: 1, sandbox: 'bwrap', sandbox_reason: null };
}

async function sql(dir: string, statement: string): Promise<void> {
  await StateStore.inStateDir(dir).run('raw', [], async (conn) => {
    await conn.run(statement);
  });
}

async function refusals(dir: string): Promise<string[]> {
  return (await readAudit(dir)).filter((e) => e['event'] === 'record_refused').map((e) => String(e['content']));
}

describe('signed records', () => {
  it('refuses a passing row copied onto another tree, and writes the refusal to the audit log', async () => {
    const dir = await privateDir();
    for (const check of ['typecheck', 'test'] as const) await recordVerificationRun(dir, run(`run-${check}-ok`, PASSING_TREE, check, true));
    await recordVerificationRun(dir, run('run-test-bad', FAILING_TREE, 'test', false));
    expect((await verificationFor(dir, PASSING_TREE)).verified).toBe(true);
    expect((await verificationFor(dir, FAILING_TREE)).verified).toBe(false);

    // Copy both passing rows onto the failing tree, under new ids, and drop the failing one.
    await sql(dir, `DELETE FROM verification_runs WHERE tree = '${FAILING_TREE}'`);
    await sql(dir, `INSERT INTO verification_runs SELECT id || '-copy', '${FAILING_TREE}', check_name, record, mac FROM verification_runs WHERE tree = '${PASSING_TREE}'`);
    const forged = await verificationFor(dir, FAILING_TREE);
    expect(forged.verified).toBe(false);
    expect(forged.missing).toEqual(['typecheck', 'test']);
    const refused = await refusals(dir);
    expect(refused.length).toBe(2);
    expect(refused[0]).toMatch(/verification_runs row failed verification \(column (id|tree) differs/);
  });

  it('refuses a row whose record was edited or whose check name was swapped', async () => {
    const dir = await privateDir();
    await recordVerificationRun(dir, run('run-t', PASSING_TREE, 'typecheck', true));
    await recordVerificationRun(dir, run('run-x', PASSING_TREE, 'test', false));
    // Flip the failing test run to ok in place: the signature no longer matches.
    await sql(dir, `UPDATE verification_runs SET record = replace(record, '"ok":false', '"ok":true') WHERE id = 'run-x'`);
    expect((await verificationFor(dir, PASSING_TREE)).verified).toBe(false);
    // Relabel the passing typecheck row as a test run: the column no longer matches the record.
    await sql(dir, `DELETE FROM verification_runs WHERE id = 'run-x'`);
    await sql(dir, `INSERT INTO verification_runs SELECT 'run-y', tree, 'test', record, mac FROM verification_runs WHERE id = 'run-t'`);
    const v = await verificationFor(dir, PASSING_TREE);
    expect(v.verified).toBe(false);
    expect(v.test).toBeNull();
    expect((await refusals(dir)).join('\n')).toMatch(/signature does not match[\s\S]*column (id|check_name) differs/);
  });

  it('orders runs by their signed time, not by anything a writer could reorder', async () => {
    const dir = await privateDir();
    await recordVerificationRun(dir, run('run-t', PASSING_TREE, 'typecheck', true));
    await recordVerificationRun(dir, run('run-old', PASSING_TREE, 'test', true, '2026-11-26T09:00:00.000Z'));
    await recordVerificationRun(dir, run('run-new', PASSING_TREE, 'test', false, '2026-11-26T11:00:00.000Z'));
    const v = await verificationFor(dir, PASSING_TREE);
    expect(v.test?.id).toBe('run-new');
    expect(v.verified).toBe(false);
  });

  it('binds an approval to its kind and subject: an old one never approves another pull request', async () => {
    const dir = await privateDir();
    const granted = await recordApproval(dir, { kind: 'merge', subject: 'volpe/clanky#47@1111111', approved_by: 'alice', via: 'github_review' });
    expect((await findApproval(dir, 'merge', 'volpe/clanky#47@1111111'))?.id).toBe(granted.id);
    await sql(dir, `INSERT INTO approvals SELECT 'apr-copy', kind, 'volpe/clanky#48@2222222', record, mac FROM approvals`);
    await sql(dir, `INSERT INTO approvals SELECT 'apr-kind', 'sensitive_commit', subject, record, mac FROM approvals WHERE id = '${granted.id}'`);
    expect(await findApproval(dir, 'merge', 'volpe/clanky#48@2222222')).toBeNull();
    expect(await findApproval(dir, 'sensitive_commit', 'volpe/clanky#47@1111111')).toBeNull();
    expect((await refusals(dir)).length).toBe(2);
  });

  it('refuses every row signed with another key', async () => {
    const dir = await privateDir();
    await recordApproval(dir, { kind: 'sensitive_commit', subject: PASSING_TREE, approved_by: 'alice', via: 'cli' });
    await fs.writeFile(path.join(dir, 'record-key'), Buffer.alloc(32, 7));
    expect(await findApproval(dir, 'sensitive_commit', PASSING_TREE)).toBeNull();
  });
});
