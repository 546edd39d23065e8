import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendAudit, readPullRequestRecords } from '../../../src/core/audit/audit-log.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

describe('pull requests in the audit log', () => {
  it('reads successful opens and merges, keyed by number or branch, and skips failures', async () => {
    const state = await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-audit-'));
    dirs.push(state);
    const entry = (event: string, outcome: string, result: Record<string, unknown>) => appendAudit(state, { kind: 'selfscope_git', event, tool: event, outcome, details: { result } });
    await entry('git_pr_create', 'github', { branch: 'selfscope/a', number: 7, url: 'https://github.com/o/r/pull/7', proposal_dir: null });
    await entry('git_pr_create', 'local_proposal', { branch: 'selfscope/b', number: null, url: null, proposal_dir: '/s/proposals/b' });
    await entry('git_pr_create', 'refused', { branch: 'selfscope/c', number: 9 });
    await entry('git_pr_merge', 'approval_required', { merged: false, number: 7 });
    await entry('git_pr_merge', 'merged', { merged: true, number: 7 });
    const records = await readPullRequestRecords(state);
    expect(records.map((r) => [r.change, r.key, r.branch, r.url ?? r.proposal_dir])).toEqual([
      ['opened', '#7', 'selfscope/a', 'https://github.com/o/r/pull/7'],
      ['opened', 'selfscope/b', 'selfscope/b', '/s/proposals/b'],
      ['merged', '#7', null, null],
    ]);
  });
});
