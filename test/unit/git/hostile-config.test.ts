import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { configFileSchema } from '../../../src/config/schema.js';
import { SelfscopeError, UserInputError } from '../../../src/core/errors.js';
import { createBranchWorktree } from '../../../src/core/git/branch.js';
import { commitVerified } from '../../../src/core/git/commit.js';
import { gitDiff, gitLog, gitStatus } from '../../../src/core/git/inspect.js';
import { GitRunner, neutralValue } from '../../../src/core/git/runner.js';
import { resolveWorktree } from '../../../src/core/git/worktrees.js';
import { createPullRequest } from '../../../src/core/github/pull-request.js';
import { createTempRepo, git, GIT_TEST_ENV, type TempRepo } from '../../helpers/temp-repo.js';
import { recordPassingChecks } from '../../helpers/verification.js';

/**
 * The agent controls every file of its worktree and may write the repository's git
 * configuration. Here it plants programs everywhere git would look for one (repository
 * config, included files, config.worktree, hooks, attributes, a submodule's own config)
 * and rewrites a worktree's `.git`: selfscope's git engines must run none of them and
 * touch no other repository. Each attack is first shown to work on plain git.
 */

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const gitConfig = configFileSchema.parse({}).git;

async function setup(files: Record<string, string> = {}) {
  const repo: TempRepo = await createTempRepo({ files: { '.gitignore': '.selfscope/\n', 'src/queue.ts': 'export const q = 1;\n', ...files } });
  cleanups.push(repo.cleanup);
  const scratch = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-hostile-')));
  cleanups.push(() => fs.rm(scratch, { recursive: true, force: true }));
  const marker = path.join(scratch, 'planted-program-ran');
  const program = path.join(scratch, 'planted.sh');
  await fs.writeFile(program, `#!/bin/sh\necho "$0 $*" >> '${marker}'\nexit 0\n`, { mode: 0o755 });
  const stateDirPath = path.join(repo.dir, '.selfscope');
  const privateDirPath = repo.privateDir;
  const b = await createBranchWorktree({ repo: repo.dir, stateDirPath, name: 'fix-queue', prefix: 'selfscope/', remote: 'origin' });
  return { repo, scratch, marker, program, stateDirPath, privateDirPath, worktree: b.worktree, branch: b.branch };
}


function commit(worktree: string, privateDirPath: string, message = 'Fix the queue') {
  // No approval step here: these tests commit attribute files, which are sensitive paths.
  return commitVerified({ worktree, privateDirPath, git: { ...gitConfig, sensitivePaths: [] }, message } as Parameters<typeof commitVerified>[0]);
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/** Plain git, as the agent or a person would run it: the control that shows an attack is live. */
async function plainGit(cwd: string, args: string[]) {
  return execa('git', args, { cwd, env: { ...GIT_TEST_ENV, GIT_TERMINAL_PROMPT: '0' }, input: '', reject: false, timeout: 30_000 });
}

async function refs(dir: string): Promise<string> {
  return git(dir, ['for-each-ref', '--format=%(refname) %(objectname)']);
}

describe('no program planted in git configuration, hooks or attributes runs', () => {
  it('across status, diff, log, commit, branch creation and the local proposal', async () => {
    const s = await setup();
    const p = s.program;
    const hooks = path.join(s.scratch, 'hooks');
    await fs.mkdir(hooks);
    for (const hook of ['pre-commit', 'commit-msg', 'post-commit', 'post-checkout', 'reference-transaction', 'post-index-change', 'pre-push', 'post-rewrite']) {
      await fs.writeFile(path.join(hooks, hook), `#!/bin/sh\n'${p}' hook-${hook}\n`, { mode: 0o755 });
      await fs.writeFile(path.join(s.repo.dir, '.git', 'hooks', hook), `#!/bin/sh\n'${p}' hook-${hook}\n`, { mode: 0o755 });
    }
    const included = path.join(s.scratch, 'included.gitconfig');
    await fs.writeFile(included, `[filter "inc"]\n\tclean = '${p}' inc-clean\n\tsmudge = '${p}' inc-smudge\n[core]\n\tfsmonitor = '${p}'\n`);
    const conditional = path.join(s.scratch, 'conditional.gitconfig');
    await fs.writeFile(conditional, `[diff "cond"]\n\ttextconv = '${p}' cond-textconv\n[core]\n\tpager = '${p}' pager\n`);
    const settings: Array<[string, string]> = [
      ['filter.evil.clean', `'${p}' clean`],
      ['filter.evil.smudge', `'${p}' smudge`],
      ['filter.evil.process', `'${p}' process`],
      ['filter.evil.required', 'true'],
      ['filter.a=b.clean', `'${p}' equals-clean`],
      ['filter.a=b.smudge', `'${p}' equals-smudge`],
      ['diff.evil.textconv', `'${p}' textconv`],
      ['diff.evil.command', `'${p}' diff-command`],
      ['diff.external', `'${p}' external`],
      ['merge.evil.driver', `'${p}' merge-driver`],
      ['core.fsmonitor', `'${p}' fsmonitor`],
      ['core.pager', `'${p}' pager`],
      ['pager.log', `'${p}' pager-log`],
      ['pager.diff', `'${p}' pager-diff`],
      ['pager.status', `'${p}' pager-status`],
      ['core.editor', `'${p}' editor`],
      ['sequence.editor', `'${p}' seq-editor`],
      ['core.sshCommand', `'${p}' ssh`],
      ['core.gitProxy', `'${p}' proxy`],
      ['core.askPass', `'${p}' askpass`],
      ['credential.helper', `!'${p}' credential`],
      ['commit.gpgSign', 'true'],
      ['gpg.program', `'${p}' gpg`],
      ['gpg.ssh.program', `'${p}' gpg-ssh`],
      ['gpg.ssh.defaultKeyCommand', `'${p}' default-key`],
      ['log.showSignature', 'true'],
      ['core.alternateRefsCommand', `'${p}' alternate-refs`],
      ['uploadpack.packObjectsHook', `'${p}' pack-objects-hook`],
      ['trailer.evil.command', `'${p}' trailer`],
      ['submodule.recurse', 'true'],
      ['diff.submodule', 'log'],
      ['status.submoduleSummary', 'true'],
      ['protocol.file.allow', 'always'],
      ['core.hooksPath', hooks],
      ['include.path', included],
      [`includeIf.gitdir:${s.repo.dir}/.git/.path`, conditional],
      ['extensions.worktreeConfig', 'true'],
    ];
    for (const [key, value] of settings) await git(s.repo.dir, ['config', key, value]);
    // The worktree's own config.worktree, read only in that worktree.
    await git(s.worktree, ['config', '--worktree', 'filter.wt.clean', `'${p}' worktree-clean`]);
    await git(s.worktree, ['config', '--worktree', 'core.fsmonitor', `'${p}' worktree-fsmonitor`]);
    await fs.writeFile(path.join(s.worktree, '.gitattributes'), '* filter=evil diff=evil merge=evil\n*.ts filter=a=b\n*.md filter=inc diff=cond\n*.txt filter=wt\n');
    await fs.mkdir(path.join(s.repo.dir, '.git', 'info'), { recursive: true });
    await fs.writeFile(path.join(s.repo.dir, '.git', 'info', 'attributes'), 'src/* filter=evil\n');
    await fs.writeFile(path.join(s.worktree, 'src', 'queue.ts'), 'export const q = 5;\n');
    await fs.writeFile(path.join(s.worktree, 'notes.md'), 'notes\n');
    await fs.writeFile(path.join(s.worktree, 'notes.txt'), 'notes\n');

    // Control: plain git runs them.
    await plainGit(s.worktree, ['status']);
    await plainGit(s.worktree, ['diff', 'HEAD']);
    expect(await exists(s.marker)).toBe(true);
    await fs.rm(s.marker);

    const status = await gitStatus(s.worktree);
    expect(status.entries.map((e) => e.path).sort()).toEqual(['.gitattributes', 'notes.md', 'notes.txt', 'src/queue.ts']);
    await gitDiff(s.worktree, { mode: 'working' });
    await gitDiff(s.worktree, { mode: 'staged' });
    await gitLog(s.worktree, { max: 5 });
    await recordPassingChecks(s.worktree, s.privateDirPath);
    const done = await commit(s.worktree, s.privateDirPath);
    expect(done.files).toContain('src/queue.ts');
    await gitDiff(s.worktree, { mode: 'range', base: 'main' });
    await gitLog(s.worktree, { max: 5, path: 'src/queue.ts' });
    await createBranchWorktree({ repo: s.repo.dir, stateDirPath: s.stateDirPath, name: 'second', base: s.branch, prefix: 'selfscope/', remote: 'origin' });
    const config = { ...configFileSchema.parse({}), stateDirPath: s.stateDirPath, privateDirPath: s.privateDirPath };
    const proposal = await createPullRequest({ worktree: s.worktree, config, title: 'Fix', evidence: {}, env: {} });
    expect(proposal.kind).toBe('local_proposal');
    expect(await fs.readFile(path.join(proposal.proposal_dir!, 'change.patch'), 'utf8')).toContain('export const q = 5;');
    expect(await exists(s.marker)).toBe(false);
  });

  it("never looks into a submodule, whose own configuration plants a filter", async () => {
    const sub = await createTempRepo({ files: { 'data.txt': 'one\n' } });
    cleanups.push(sub.cleanup);
    const s0 = await createTempRepo({ files: { '.gitignore': '.selfscope/\n', 'src/queue.ts': 'export const q = 1;\n' } });
    cleanups.push(s0.cleanup);
    await git(s0.dir, ['-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', sub.dir, 'vendor/sub']);
    await git(s0.dir, ['commit', '-q', '-m', 'add submodule']);
    const scratch = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-hostile-')));
    cleanups.push(() => fs.rm(scratch, { recursive: true, force: true }));
    const marker = path.join(scratch, 'submodule-filter-ran');
    const stateDirPath = path.join(s0.dir, '.selfscope');
    const b = await createBranchWorktree({ repo: s0.dir, stateDirPath, name: 'fix', prefix: 'selfscope/', remote: 'origin' });
    await git(b.worktree, ['-c', 'protocol.file.allow=always', 'submodule', 'update', '-q', '--init']);
    const subDir = path.join(b.worktree, 'vendor', 'sub');
    await git(subDir, ['config', 'filter.x.clean', `sh -c 'touch ${marker}; cat'`]);
    await git(subDir, ['config', 'core.fsmonitor', `sh -c 'touch ${marker}'`]);
    await fs.writeFile(path.join(subDir, '.gitattributes'), '* filter=x\n');
    await fs.writeFile(path.join(subDir, 'data.txt'), 'two\n');
    await fs.writeFile(path.join(b.worktree, 'src', 'queue.ts'), 'export const q = 2;\n');

    await plainGit(b.worktree, ['status']);
    expect(await exists(marker)).toBe(true);
    await fs.rm(marker);

    const status = await gitStatus(b.worktree);
    expect(status.entries.map((e) => e.path)).toEqual(['src/queue.ts']);
    await gitDiff(b.worktree, { mode: 'working' });
    await gitLog(b.worktree, { max: 5 });
    await recordPassingChecks(b.worktree, s0.privateDir);
    const done = await commit(b.worktree, s0.privateDir);
    expect(done.files).toEqual(['src/queue.ts']);
    expect(await exists(marker)).toBe(false);
  });
});

describe('program-valued configuration keys', () => {
  it.each([
    ['filter.Evil.clean', ''],
    ['filter.a=b.process', ''],
    ['filter.x.required', 'false'],
    ['diff.x.textconv', ''],
    ['merge.x.driver', ''],
    ['core.hooksPath', '/dev/null'],
    ['core.fsmonitor', 'false'],
    ['pager.log', 'false'],
    ['credential.https://github.com.helper', ''],
    ['gpg.ssh.defaultKeyCommand', ''],
    ['gpg.x509.program', ''],
    ['commit.gpgSign', 'false'],
    ['core.alternateRefsCommand', ''],
    ['uploadpack.packObjectsHook', ''],
    ['remote.origin.uploadpack', 'git-upload-pack'],
    ['protocol.file.allow', 'never'],
    ['submodule.x.update', 'none'],
  ])('neutralises %s', (key, value) => {
    expect(neutralValue(key)).toBe(value);
  });

  it.each(['user.name', 'core.bare', 'core.repositoryformatversion', 'remote.origin.url', 'extensions.worktreeConfig', 'diff.renames'])('leaves %s alone', (key) => {
    expect(neutralValue(key)).toBeNull();
  });
});

describe('a worktree is used only when its .git leads to its own entry in this repository', () => {
  it('refuses a .git rewritten to another repository, another worktree entry or the main git dir, and moves no branch anywhere', async () => {
    const s = await setup();
    const victim = await createTempRepo({ files: { 'v.txt': 'victim\n' } });
    cleanups.push(victim.cleanup);
    await git(victim.dir, ['checkout', '-q', '-b', 'feature']);
    const victimWt = path.join(s.scratch, 'victim-wt');
    await git(victim.dir, ['worktree', 'add', '-q', '-b', 'other', victimWt]);
    await fs.writeFile(path.join(s.worktree, 'src', 'queue.ts'), 'export const q = 7;\n');
    await recordPassingChecks(s.worktree, s.privateDirPath);
    const dotGit = path.join(s.worktree, '.git');
    const original = await fs.readFile(dotGit, 'utf8');
    const before = { victim: await refs(victim.dir), repo: await refs(s.repo.dir) };
    const opts = { repo: s.repo.dir, stateDirPath: s.stateDirPath, cwd: s.repo.dir };

    const pointers = [`gitdir: ${victim.dir}/.git\n`, `gitdir: ${victim.dir}/.git/worktrees/victim-wt\n`, `gitdir: ${s.repo.dir}/.git\n`];
    for (const pointer of pointers) {
      await fs.writeFile(dotGit, pointer);
      // Control: plain git follows the pointer.
      expect((await plainGit(s.worktree, ['rev-parse', '--absolute-git-dir'])).stdout).not.toContain('worktrees/selfscope-fix-queue');
      await expect(resolveWorktree({ ...opts, requested: s.worktree }), pointer).rejects.toBeInstanceOf(UserInputError);
      await expect(resolveWorktree({ ...opts, cwd: path.join(s.worktree, 'src') }), pointer).rejects.toBeInstanceOf(UserInputError);
      // The engine refuses too (the tools resolve the worktree first, with the clearer message above).
      const refused = await commit(s.worktree, s.privateDirPath).catch((e: unknown) => e);
      expect(refused, pointer).toBeInstanceOf(SelfscopeError);
      await expect(gitStatus(s.worktree), pointer).rejects.toBeInstanceOf(UserInputError);
      await expect(gitDiff(s.worktree, { mode: 'working' }), pointer).rejects.toBeInstanceOf(UserInputError);
      await expect(gitLog(s.worktree, { max: 3 }), pointer).rejects.toBeInstanceOf(UserInputError);
    }
    expect(await refs(victim.dir)).toBe(before.victim);
    expect(await refs(s.repo.dir)).toBe(before.repo);

    // A .git directory (a repository of its own) in place of the worktree's is refused too.
    await fs.rm(dotGit);
    await git(s.worktree, ['init', '-q']);
    await expect(resolveWorktree({ ...opts, requested: s.worktree })).rejects.toThrow(/a repository of its own/);
    await fs.rm(dotGit, { recursive: true });

    // Restored, the same worktree works: the refusals were about the .git, nothing else.
    await fs.writeFile(dotGit, original);
    expect(await resolveWorktree({ ...opts, requested: s.worktree })).toBe(s.worktree);
    const done = await commit(s.worktree, s.privateDirPath);
    expect((await git(s.repo.dir, ['rev-parse', s.branch])).trim()).toBe(done.sha);
  });

  it('refuses a nested repository inside a worktree', async () => {
    const s = await setup();
    const nested = path.join(s.worktree, 'vendor', 'nested');
    await fs.mkdir(nested, { recursive: true });
    await git(nested, ['init', '-q']);
    await expect(resolveWorktree({ repo: s.repo.dir, stateDirPath: s.stateDirPath, cwd: s.repo.dir, requested: nested })).rejects.toThrow(/nested/);
  });

  it('pins the repository of a runner: a .git rewritten between two calls changes nothing', async () => {
    const s = await setup();
    const victim = await createTempRepo();
    cleanups.push(victim.cleanup);
    await git(victim.dir, ['checkout', '-q', '-b', 'victim-branch']);
    const runner = new GitRunner(s.worktree);
    expect((await runner.run(['symbolic-ref', '--short', 'HEAD'])).trim()).toBe(s.branch);
    await fs.writeFile(path.join(s.worktree, '.git'), `gitdir: ${victim.dir}/.git\n`);
    expect((await runner.run(['symbolic-ref', '--short', 'HEAD'])).trim()).toBe(s.branch);
  });

  it('refuses a work tree moved elsewhere by core.worktree', async () => {
    const s = await setup();
    const elsewhere = path.join(s.scratch, 'elsewhere');
    await fs.mkdir(elsewhere);
    await git(s.repo.dir, ['config', 'core.worktree', elsewhere]);
    await expect(new GitRunner(s.repo.dir).run(['status', '--porcelain'])).rejects.toThrow(/work tree for this directory is elsewhere/);
    await git(s.repo.dir, ['config', '--unset', 'core.worktree']);
    await git(s.repo.dir, ['config', 'extensions.worktreeConfig', 'true']);
    await git(s.worktree, ['config', '--worktree', 'core.worktree', elsewhere]);
    await expect(gitStatus(s.worktree)).rejects.toBeInstanceOf(UserInputError);
  });
});
