import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ConfigFile } from '../../config/schema.js';
import { appendAudit } from '../audit/audit-log.js';
import { seedIndex, treeIdentity, verificationFor } from '../checks/attestation.js';
import { comparisonSummary, decideGate, type BaseOutcomes, type BaseRef, type GateMode } from '../checks/gate.js';
import { UNTRUSTED_DETAIL } from '../text/egress.js';
import { PolicyError, UserInputError } from '../errors.js';
import { findApproval, recordApproval, type ApprovalChannel } from '../policy/approvals.js';
import { envFiles, filesNamedByScripts, isProtectedBranch, scanChangeForSecrets, SECRET_SCAN_LIMITS, sensitivePaths } from '../policy/policy.js';
import { defaultBranch } from './branch.js';
import { GitCommandError, GitRunner } from './runner.js';

/**
 * git_commit's engine: commits exactly the tree on which typecheck and tests passed, or
 * refuses and says what to do. The refusals are the autonomy boundary; no argument turns
 * them off.
 */

export interface CommitRequest {
  worktree: string;
  message: string;
  /** Stage only these paths (else every change, untracked included). */
  paths?: string[];
  privateDirPath: string;
  git: ConfigFile['git'];
  /** Asks the human at the client to approve a sensitive change (used only where git.elicitationApproves); null when nobody can be asked. */
  askHuman?: (question: { message: string; files: string[]; tree: string }) => Promise<{ approvedBy: string } | null>;
  /** checks.gate (default "strict"). */
  gate?: GateMode;
  /** Runs the base's full suite when checks.gate is "no_new_failures" and none is recorded. */
  ensureBase?: (base: BaseRef) => Promise<BaseOutcomes>;
}

/** On what grounds the tree was let through, and how its tests stand against the base's. */
export interface CommitGate {
  mode: GateMode;
  reason: string;
  comparison: ReturnType<typeof comparisonSummary> | null;
}

export interface CommitResult {
  sha: string;
  tree: string;
  branch: string;
  parent: string;
  files: string[];
  approval: string | null;
  gate: CommitGate;
}

const IDENTITY_DEFAULTS = { name: 'selfscope', email: 'selfscope@localhost.invalid' };

function checkPath(p: string): void {
  if (p.startsWith('-') || p.includes('\0') || path.isAbsolute(p) || p.split(/[\\/]/).includes('..')) {
    throw new UserInputError(`"${p.slice(0, 80)}" is not a path inside the worktree.`, { hint: 'Give paths relative to the worktree root, without "..".' });
  }
}

async function treeOfPaths(git: GitRunner, paths: string[]): Promise<string> {
  const realIndex = (await git.run(['rev-parse', '--path-format=absolute', '--git-path', 'index'])).trim();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-commit-'));
  try {
    const tmp = path.join(dir, 'index');
    await seedIndex(realIndex, tmp);
    await git.run(['add', '-A', '--', ...paths], { env: { GIT_INDEX_FILE: tmp } });
    return (await git.run(['write-tree'], { env: { GIT_INDEX_FILE: tmp } })).trim();
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function identity(git: GitRunner, key: 'user.name' | 'user.email'): Promise<string> {
  try {
    return (await git.run(['config', '--get', key])).trim() || (key === 'user.name' ? IDENTITY_DEFAULTS.name : IDENTITY_DEFAULTS.email);
  } catch {
    return key === 'user.name' ? IDENTITY_DEFAULTS.name : IDENTITY_DEFAULTS.email;
  }
}

export async function commitVerified(req: CommitRequest): Promise<CommitResult> {
  if (!req.message.trim()) throw new UserInputError('The commit message is empty.', { hint: 'Say what the change does and why.' });
  if (req.message.length > 20_000) throw new UserInputError('The commit message is over 20,000 characters.', { hint: 'Keep it to a subject and a short body.' });
  for (const p of req.paths ?? []) checkPath(p);
  const git = new GitRunner(req.worktree);

  let branch: string;
  try {
    branch = (await git.run(['symbolic-ref', '--quiet', '--short', 'HEAD'])).trim();
  } catch (error) {
    if (!(error instanceof GitCommandError)) throw error; // the runner refused the worktree itself: say so
    throw new PolicyError('The worktree is on a detached HEAD.', { hint: 'Commit on a branch made by git_branch_create.' });
  }
  const base = await defaultBranch(git, req.git.defaultBranch, req.git.remote).catch(() => 'main');
  if (isProtectedBranch(branch, req.git.protectedBranches, base)) {
    throw new PolicyError(`Refused: ${branch} is a protected branch; selfscope never commits to it.`, {
      hint: 'Create a branch and worktree of your own with git_branch_create, make the change there, and open a pull request.',
    });
  }

  const parent = (await git.run(['rev-parse', '--verify', 'HEAD^{commit}'])).trim();
  const headTree = (await git.run(['rev-parse', '--verify', 'HEAD^{tree}'])).trim();
  const tree = req.paths && req.paths.length > 0 ? await treeOfPaths(git, req.paths) : await treeIdentity(req.worktree, git);
  if (tree === headTree) throw new UserInputError('Nothing to commit: the tree equals HEAD.', { hint: 'Edit files in the worktree first (git_status shows what changed).' });

  const verification = await verificationFor(req.privateDirPath, tree);
  const current = verification.verified ? tree : await treeIdentity(req.worktree, git);
  if (req.paths && current !== tree && !verification.verified) {
    throw new PolicyError('Refused: the commit would hold only the given paths, a tree the checks never ran on. Nothing is committed unless run_typecheck and run_tests both passed on exactly the tree being committed.', {
      hint: 'Commit every change (omit paths), or remove the other changes; then run run_typecheck and run_tests, and commit.',
      details: { tree, missing: verification.missing },
    });
  }
  const mode = req.gate ?? 'strict';
  const approvedTree = async () => (await findApproval(req.privateDirPath, 'sensitive_commit', tree, req.git.elicitationApproves === true ? ['terminal', 'cli', 'elicitation'] : ['terminal', 'cli'])) !== null;
  const decision = await decideGate({ privateDirPath: req.privateDirPath, worktree: req.worktree, tree, mode, git: req.git, verification, approvedTree, ...(req.ensureBase ? { ensureBase: req.ensureBase } : {}) });
  const summary = decision.comparison ? comparisonSummary(decision.comparison) : null;
  if (mode !== 'strict' || decision.comparison) {
    await appendAudit(req.privateDirPath, {
      kind: 'selfscope_policy',
      event: 'commit_gate',
      tool: 'git_commit',
      outcome: decision.allowed ? `allowed: ${decision.reason}` : `refused: ${decision.reason}`,
      arguments: { tree, branch, mode },
      details: { ...(summary ? { comparison: summary } : {}) },
    }).catch(() => {});
  }
  if (!decision.allowed) {
    if (mode === 'strict') {
      const why = verification.typecheck || verification.test ? decision.reason : 'typecheck and tests have not passed on this exact tree (a file changed since they ran, or they never ran)';
      throw new PolicyError(`Refused: ${why}. Nothing is committed unless run_typecheck and run_tests both passed on exactly the tree being committed.`, {
        hint: decision.hint ?? 'Run run_typecheck and run_tests on this worktree now (after your last edit), fix what fails, then call git_commit again.',
        details: { tree, missing: verification.missing },
      });
    }
    const newOnes = decision.comparison?.new_failures ?? [];
    const gone = decision.comparison?.missing ?? [];
    const listed = (title: string, ids: readonly string[], more: string) => (ids.length ? `${title} (${ids.length}):\n${ids.slice(0, 30).join('\n')}${ids.length > 30 ? `\n… and ${ids.length - 30} more (${more})` : ''}` : '');
    throw new PolicyError(`Refused (checks.gate "no_new_failures"): ${newOnes.length ? `${newOnes.length} new failing test(s) — ${decision.reason}` : decision.reason}.`, {
      hint: decision.hint ?? 'Run run_typecheck and run_tests, then call git_commit again.',
      details: {
        tree,
        gate: mode,
        ...(summary ? { comparison: { ...summary.counts, base_commit: summary.base_commit, branch_run: summary.branch_run, base_run: summary.base_run } } : {}),
        // Test names are the agent's text: shown delimited, never in the message.
        ...(newOnes.length || gone.length ? { [UNTRUSTED_DETAIL]: [listed('New failures', newOnes, `selfscope://runs/${summary?.branch_run}?view=failures`), listed('Passed on the base, not run here', gone, `selfscope://runs/${summary?.base_run}`)].filter(Boolean).join('\n') } : {}),
      },
    });
  }

  const files = (await git.run(['diff', '--name-only', '--no-renames', '--no-ext-diff', 'HEAD', tree, '--']))
    .split('\n')
    .filter(Boolean);
  const dotenv = envFiles(files);
  if (dotenv.length > 0) {
    throw new PolicyError(`Refused: the change adds or edits environment files (${dotenv.slice(0, 5).join(', ')}).`, { hint: 'Remove them from the change; secrets belong in the environment, never in git.' });
  }
  // Every added or changed file's bytes, binary or not, as stored: attributes cannot hide one.
  const scan = await scanChangeForSecrets(git, 'HEAD', tree);
  if (scan.unscanned.length > 0) {
    const big = scan.unscanned.slice(0, 5).map((u) => `${u.file} (${u.bytes} bytes)`);
    throw new PolicyError(`Refused: the change has files too large to scan for secrets: ${big.join(', ')}.`, {
      hint: `selfscope reads every changed file whole before committing: at most ${SECRET_SCAN_LIMITS.fileBytes / 1024 / 1024} MiB a file and ${SECRET_SCAN_LIMITS.totalBytes / 1024 / 1024} MiB in all. Keep large files out of the change (ignore them or have a human commit them).`,
      details: { unscanned: big },
    });
  }
  const secrets = scan.findings;
  if (secrets.length > 0) {
    const where = secrets.slice(0, 10).map((s) => `${s.file}:${s.line} (${s.kind})`);
    throw new PolicyError(`Refused: the change adds what looks like a secret at ${where.join(', ')}.`, {
      hint: 'Remove the secret from those lines (read it from the environment instead), rerun the checks, and commit again. If it is a false positive, rephrase the line.',
      details: { secrets: where },
    });
  }

  let approval: string | null = null;
  const sensitive = [...new Set([...sensitivePaths(files, req.git.sensitivePaths), ...filesNamedByScripts(await packageScripts(req.worktree), files)])];
  if (sensitive.length > 0) {
    // A client can answer its own confirmations: an elicitation counts only where configured.
    const elicitationCounts = req.git.elicitationApproves === true;
    const channels: ApprovalChannel[] = elicitationCounts ? ['terminal', 'cli', 'elicitation'] : ['terminal', 'cli'];
    const audit = (outcome: string, details: Record<string, unknown>) =>
      appendAudit(req.privateDirPath, { kind: 'selfscope_policy', event: 'commit_approval', tool: 'git_commit', outcome, arguments: { tree, branch }, details: { sensitive: sensitive.slice(0, 20), ...details } });
    const existing = await findApproval(req.privateDirPath, 'sensitive_commit', tree, channels);
    if (existing) {
      approval = existing.id;
      await audit('granted', { channel: existing.via, approval: existing.id, by: existing.approved_by });
    } else {
      const answer = elicitationCounts && req.askHuman ? await req.askHuman({ message: `Approve a commit on ${branch} that changes security-sensitive files?`, files: sensitive, tree }) : null;
      if (!answer) {
        await audit('refused: no human approval', { channels_accepted: channels, elicitation_asked: elicitationCounts && req.askHuman !== undefined });
        throw new PolicyError(`Refused: the change touches security-sensitive paths (${sensitive.slice(0, 5).join(', ')}) and no human has approved it.`, {
          hint: `A person must approve this exact change: in a terminal on this machine, run \`selfscope approve --tree ${tree}\` (it shows the files and asks for a confirmation code)${elicitationCounts ? ', or accept the confirmation in a client a person answers' : ''}. Then call git_commit again.`,
          details: { tree, sensitive },
        });
      }
      approval = (await recordApproval(req.privateDirPath, { kind: 'sensitive_commit', subject: tree, approved_by: answer.approvedBy, via: 'elicitation' })).id;
      await audit('granted', { channel: 'elicitation', approval, by: answer.approvedBy });
    }
  }

  const name = await identity(git, 'user.name');
  const email = await identity(git, 'user.email');
  const env = { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email };
  // The commit is made from the verified tree object itself: whatever happens to the files
  // from now on, what lands is what was tested.
  const sha = (await git.run(['commit-tree', tree, '-p', parent, '-m', req.message], { env })).trim();
  await git.run(['update-ref', '-m', 'selfscope: verified commit', `refs/heads/${branch}`, sha, parent]);
  await git.run(['read-tree', sha]);
  return { sha, tree, branch, parent, files, approval, gate: { mode, reason: decision.reason, comparison: summary } };
}


/** The worktree's package scripts; none when there is no readable package.json (a manifest change is sensitive on its own). */
async function packageScripts(worktree: string): Promise<Record<string, unknown>> {
  try {
    const manifest = path.join(worktree, 'package.json');
    const stat = await fs.lstat(manifest);
    if (!stat.isFile() || stat.size > 1024 * 1024) return {};
    const scripts = (JSON.parse(await fs.readFile(manifest, 'utf8')) as { scripts?: unknown }).scripts;
    return scripts !== null && typeof scripts === 'object' && !Array.isArray(scripts) ? (scripts as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
