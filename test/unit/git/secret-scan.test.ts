import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configFileSchema } from '../../../src/config/schema.js';
import { treeIdentity } from '../../../src/core/checks/attestation.js';
import { PolicyError } from '../../../src/core/errors.js';
import { createBranchWorktree } from '../../../src/core/git/branch.js';
import { commitVerified } from '../../../src/core/git/commit.js';
import { GitRunner } from '../../../src/core/git/runner.js';
import { scanChangeForSecrets, secretsAdded, secretsInDiff } from '../../../src/core/policy/policy.js';
import { createTempRepo, git, type TempRepo } from '../../helpers/temp-repo.js';
import { recordPassingChecks } from '../../helpers/verification.js';

/**
 * The commit gate's secret scan reads every added or changed file's bytes from the object
 * store: a secret in a file git calls binary (a NUL byte, a `-diff` or `binary` attribute,
 * a wide encoding) is refused like one in source code.
 */

const SECRET = 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';
const gitConfig = { ...configFileSchema.parse({}).git, sensitivePaths: [] };

const repos: TempRepo[] = [];
afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.cleanup()));
});

async function setup(files: Record<string, string> = {}) {
  const repo = await createTempRepo({ files: { '.gitignore': '.selfscope/\n', 'src/queue.ts': 'export const q = 1;\n', ...files } });
  repos.push(repo);
  const stateDirPath = path.join(repo.dir, '.selfscope');
  const b = await createBranchWorktree({ repo: repo.dir, stateDirPath, name: 'fix-queue', prefix: 'selfscope/', remote: 'origin' });
  return { repo, privateDirPath: repo.privateDir, worktree: b.worktree };
}

async function verifiedCommit(worktree: string, privateDirPath: string) {
  await recordPassingChecks(worktree, privateDirPath);
  return commitVerified({ worktree, privateDirPath, git: gitConfig, message: 'change' } as Parameters<typeof commitVerified>[0]);
}

describe('the commit secret scan reads file contents, not a textual diff', () => {
  it.each([
    ['a file with a NUL byte', 'assets/blob.bin', Buffer.concat([Buffer.from([0x89, 0x50, 0x00, 0x01, 0x00]), Buffer.from(`\ntoken=${SECRET}\n`), Buffer.from([0x00, 0xff])]), ''],
    ['a -diff attribute', 'notes/keys.txt', Buffer.from(`one\ntoken=${SECRET}\n`), 'notes/*.txt -diff\n'],
    ['a binary attribute', 'data/keys.dat', Buffer.from(`token=${SECRET}\n`), '*.dat binary\n'],
    ['UTF-16 text', 'docs/wide.txt', Buffer.from(`\ufefftoken=${SECRET}\n`, 'utf16le'), ''],
  ])('refuses a secret in %s', async (_name, file, content, attributes) => {
    const { worktree, privateDirPath } = await setup(attributes ? { '.gitattributes': attributes } : {});
    await fs.mkdir(path.dirname(path.join(worktree, file)), { recursive: true });
    await fs.writeFile(path.join(worktree, file), content);
    // Control: git's own diff shows no added line there, so a diff-based scan saw nothing.
    const diff = await git(worktree, ['diff', '--unified=0', '--no-color', 'HEAD', (await treeIdentity(worktree)).trim(), '--']);
    expect(secretsInDiff(diff)).toEqual([]);
    const error = (await verifiedCommit(worktree, privateDirPath).catch((e: unknown) => e)) as PolicyError;
    expect(error).toBeInstanceOf(PolicyError);
    expect(error.message).toContain(`${file}:`);
    expect(error.message).toContain('github_token');
    expect(JSON.stringify({ m: error.message, h: error.hint, d: error.details })).not.toContain(SECRET);
  });

  it('flags only what the change adds: a secret already in the file is not the change', async () => {
    const { worktree, privateDirPath } = await setup({ 'legacy.bin': `\0old ${SECRET}\n` });
    await fs.writeFile(path.join(worktree, 'legacy.bin'), `\0old ${SECRET}\nmore\n`);
    const done = await verifiedCommit(worktree, privateDirPath);
    expect(done.files).toEqual(['legacy.bin']);
    expect(secretsAdded('f', Buffer.from(`a ${SECRET}`), Buffer.from(`a ${SECRET}\nb ${SECRET}`))).toEqual([{ file: 'f', line: 2, kind: 'github_token' }]);
  });

  it('refuses a file too large to read whole, and bounds the whole change', async () => {
    const { worktree, privateDirPath } = await setup();
    await fs.writeFile(path.join(worktree, 'big.bin'), Buffer.alloc(9 * 1024 * 1024, 0x41));
    const error = (await verifiedCommit(worktree, privateDirPath).catch((e: unknown) => e)) as PolicyError;
    expect(error).toBeInstanceOf(PolicyError);
    expect(error.message).toMatch(/too large to scan for secrets: big\.bin \(9437184 bytes\)/);

    const runner = new GitRunner(worktree);
    await fs.rm(path.join(worktree, 'big.bin'));
    await fs.writeFile(path.join(worktree, 'a.txt'), 'x'.repeat(3000));
    await fs.writeFile(path.join(worktree, 'b.txt'), `${'y'.repeat(3000)}\n${SECRET}`);
    const tree = await treeIdentity(worktree);
    const scan = await scanChangeForSecrets(runner, 'HEAD', tree, { fileBytes: 4000, totalBytes: 5000 });
    expect(scan.unscanned.map((u) => u.file)).toEqual(['b.txt']);
    const whole = await scanChangeForSecrets(runner, 'HEAD', tree);
    expect(whole).toEqual({ findings: [{ file: 'b.txt', line: 2, kind: 'github_token' }], unscanned: [] });
  });
});
