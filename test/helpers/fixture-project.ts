import fs from 'node:fs/promises';
import path from 'node:path';
import { PACKAGE_ROOT } from './mcp-client.js';
import { createTempRepo, git, type TempRepo } from './temp-repo.js';

/**
 * A tiny project in a temporary git repository, with this package's node_modules linked
 * in so that its vitest and tsc run offline and fast.
 */
export async function fixtureProject(files: Record<string, string>, options: { linkNodeModules?: boolean } = {}): Promise<TempRepo> {
  const repo = await createTempRepo({ files: { '.gitignore': 'node_modules\n.selfscope/\nignored/\n', ...files } });
  if (options.linkNodeModules !== false) await fs.symlink(path.join(PACKAGE_ROOT, 'node_modules'), path.join(repo.dir, 'node_modules'), 'dir');
  await git(repo.dir, ['add', '-A']);
  await git(repo.dir, ['commit', '-q', '--allow-empty', '-m', 'fixture']);
  return repo;
}

export const VITEST_PKG = JSON.stringify({ name: 'fixture', type: 'module', scripts: { test: 'vitest run', typecheck: 'tsc --noEmit -p .' } });
export const TSCONFIG = JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: [] }, include: ['src'] });
