import { recordVerificationRun, treeIdentity } from '../../src/core/checks/attestation.js';

/**
 * Records passing typecheck and test runs for the worktree's current tree, as run_typecheck
 * and run_tests record them after a sandboxed run, so a test can reach the commit gate
 * without running a real suite. Returns the tree.
 */
export async function recordPassingChecks(worktree: string, privateDirPath: string, passed = 1): Promise<string> {
  const tree = await treeIdentity(worktree);
  const now = new Date().toISOString();
  for (const check of ['typecheck', 'test'] as const) {
    await recordVerificationRun(privateDirPath, {
      id: `run-${check}-${tree.slice(0, 8)}`,
      tree,
      worktree,
      check,
      command: ['npm', 'run', check],
      reason: 'test',
      ok: true,
      exit_code: 0,
      counts: check === 'test' ? { passed, failed: 0, skipped: 0, total: passed } : null,
      tree_changed: false,
      started_at: now,
      finished_at: now,
      duration_ms: 5,
      sandbox: 'bwrap',
      sandbox_reason: null,
    });
  }
  return tree;
}
