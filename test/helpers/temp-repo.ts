import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

/** Git identity for test repositories, so no test depends on the machine's git config. */
export const GIT_TEST_ENV = {
  GIT_AUTHOR_NAME: 'selfscope test',
  GIT_AUTHOR_EMAIL: 'test@selfscope.invalid',
  GIT_COMMITTER_NAME: 'selfscope test',
  GIT_COMMITTER_EMAIL: 'test@selfscope.invalid',
};

export async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await execa('git', args, { cwd, env: GIT_TEST_ENV });
  return stdout;
}

export interface TempRepo {
  dir: string;
  /** A private directory outside the repository (as selfscope's privateDir), removed with it. */
  privateDir: string;
  cleanup(): Promise<void>;
}

/** A fresh git repository (branch main, one commit) in a temporary directory. */
export async function createTempRepo(options: { files?: Record<string, string> } = {}): Promise<TempRepo> {
  const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-test-')));
  await git(dir, ['init', '-q', '-b', 'main']);
  const files = { 'README.md': '# test repo\n', ...options.files };
  for (const [name, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), content);
  }
  await git(dir, ['add', '-A']);
  await git(dir, ['commit', '-q', '-m', 'initial']);
  const privateDir = `${dir}.private`;
  return {
    dir,
    privateDir,
    cleanup: async () => {
      await fs.rm(dir, { recursive: true, force: true });
      await fs.rm(privateDir, { recursive: true, force: true });
    },
  };
}
