import { randomBytes } from 'node:crypto';
import { SealedTable } from '../state/sealed-table.js';

/**
 * Human approvals: for a commit that touches security-sensitive paths (subject: the tree
 * committed) or for a merge (subject: the pull request). Only a human path creates one: the
 * `selfscope approve` command at an interactive terminal, the bot's own process for an
 * allowed user, or (for commits, where configured) the client's elicitation. No tool argument can.
 */

export type ApprovalKind = 'sensitive_commit' | 'merge';
export type ApprovalChannel = 'terminal' | 'bot' | 'elicitation' | 'cli' | 'github_review';

export interface Approval {
  id: string;
  kind: ApprovalKind;
  subject: string;
  approved_by: string;
  /**
   * How the human said yes: `terminal` (`selfscope approve` at an interactive terminal),
   * `bot` (the bot's own process, for an allowed user), `elicitation` (a confirmation in the
   * MCP client; counts for sensitive commits only where git.elicitationApproves is on).
   * `cli` and `github_review` are older records: `cli` was the terminal for commits (and an
   * agent-runnable flag for merges), review approvals are no longer stored.
   */
  via: ApprovalChannel;
  at: string;
}

// Found by kind and subject: both bound, with who approved, how and when.
const APPROVALS = new SealedTable<Approval>('approvals', { id: 'id', kind: 'kind', subject: 'subject' });

export async function recordApproval(privateDirPath: string, approval: Omit<Approval, 'id' | 'at'>): Promise<Approval> {
  const full: Approval = { ...approval, id: `apr-${randomBytes(5).toString('hex')}`, at: new Date().toISOString() };
  await APPROVALS.insert(privateDirPath, full);
  return full;
}

/** The approval of `subject`, given through one of `channels` when named (the channel is signed with the record). */
export async function findApproval(privateDirPath: string, kind: ApprovalKind, subject: string, channels?: readonly ApprovalChannel[]): Promise<Approval | null> {
  return (await APPROVALS.select(privateDirPath, { kind, subject })).find((a) => !channels || channels.includes(a.via)) ?? null;
}
