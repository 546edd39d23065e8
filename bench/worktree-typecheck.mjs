// What a worktree made by git_branch_create saves on the repository's own typecheck
// (`tsc -b --noEmit` over project references, incremental): a bare `git worktree add`
// against a prepared worktree (TypeScript build info carried over), before and after one
// edit. Prints figures; never fails.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { createBranchWorktree } = await import(path.join(root, 'dist/core/git/branch.js'));
const TSC = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const files = Number(process.argv[2] ?? 150);

const repo = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'selfscope-bench-wt-')));
const env = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@x' };
const git = (cwd, ...args) => execFileSync('git', args, { cwd, env });
const write = (rel, text) => {
  fs.mkdirSync(path.dirname(path.join(repo, rel)), { recursive: true });
  fs.writeFileSync(path.join(repo, rel), text);
};
write('.gitignore', 'node_modules/\n.selfscope/\n*.tsbuildinfo\n');
write('tsconfig.base.json', JSON.stringify({ compilerOptions: { incremental: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, types: [] } }));
write('tsconfig.json', JSON.stringify({ files: [], references: [{ path: './tsconfig.app.json' }, { path: './tsconfig.tests.json' }] }));
write('tsconfig.app.json', JSON.stringify({ extends: './tsconfig.base.json', include: ['src/**/*.ts'] }));
write('tsconfig.tests.json', JSON.stringify({ extends: './tsconfig.base.json', include: ['tests/**/*.ts'] }));
for (let i = 0; i < files; i++) {
  const prev = i > 0 ? `import { make${i - 1}, type Shape${i - 1} } from './m${i - 1}.js';\n` : '';
  write(
    `src/m${i}.ts`,
    `${prev}export type Shape${i} = { id: number; name: string; tags: Array<{ k: string; v: number }>; next?: ${i > 0 ? `Shape${i - 1}` : 'undefined'} };\n` +
      `export function make${i}(n: number): Shape${i} {\n  const tags = Array.from({ length: n }, (_, j) => ({ k: String(j), v: j * ${i} }));\n  return { id: n, name: 'm${i}', tags${i > 0 ? `, next: make${i - 1}(n)` : ''} };\n}\n` +
      `export const total${i} = [1, 2, 3].map((n) => make${i}(n)).reduce((a, s) => a + s.tags.reduce((b, t) => b + t.v, 0), 0);\n`,
  );
}
write('tests/all.test.ts', `import { make${files - 1} } from '../src/m${files - 1}.js';\nexport const t: number = make${files - 1}(2).id;\n`);
fs.mkdirSync(path.join(repo, 'node_modules'));
fs.symlinkSync(path.join(root, 'node_modules', 'typescript'), path.join(repo, 'node_modules', 'typescript'), 'dir');
git(repo, 'init', '-q', '-b', 'master');
git(repo, 'add', '-A');
git(repo, 'commit', '-q', '-m', 'x');

function tsc(cwd) {
  const t = performance.now();
  execFileSync(process.execPath, [TSC, '-b', '--noEmit'], { cwd });
  return performance.now() - t;
}
const ms = (v) => `${(v / 1000).toFixed(2)} s`;
const stateDirPath = path.join(repo, '.selfscope');

try {
  console.log(`main checkout, first tsc -b --noEmit: ${ms(tsc(repo))} (${files} files)`);
  console.log(`main checkout, again (up to date):    ${ms(tsc(repo))}`);
  const bare = path.join(stateDirPath, 'bare');
  git(repo, 'worktree', 'add', '-q', '-b', 'bare', bare, 'master');
  console.log(`bare worktree (no build info):        ${ms(tsc(bare))}`);
  const made = performance.now();
  const prepared = await createBranchWorktree({ repo, stateDirPath, privateDirPath: `${repo}.private`, name: 'prepared', prefix: 'selfscope/', remote: 'origin' });
  console.log(`prepared worktree made in ${ms(performance.now() - made)}; build info fresh: ${prepared.prepared.build_info.fresh}`);
  console.log(`prepared worktree (build info):       ${ms(tsc(prepared.worktree))}`);
  const edit = (dir) => fs.appendFileSync(path.join(dir, 'src', `m${files - 1}.ts`), 'export const edited = 1;\n');
  const bare2 = path.join(stateDirPath, 'bare2');
  git(repo, 'worktree', 'add', '-q', '-b', 'bare2', bare2, 'master');
  edit(bare2);
  console.log(`bare worktree, one file edited:       ${ms(tsc(bare2))}`);
  edit(prepared.worktree);
  console.log(`prepared worktree, one file edited:   ${ms(tsc(prepared.worktree))}`);
  // The main checkout has a change: the copy is not marked up to date, tsc -b checks incrementally.
  fs.appendFileSync(path.join(repo, 'src', 'm0.ts'), '\n');
  const stale = await createBranchWorktree({ repo, stateDirPath, privateDirPath: `${repo}.private`, name: 'stale', prefix: 'selfscope/', remote: 'origin' });
  console.log(`prepared worktree, main checkout dirty (fresh: ${stale.prepared.build_info.fresh}): ${ms(tsc(stale.worktree))}`);
} finally {
  fs.rmSync(repo, { recursive: true, force: true });
  fs.rmSync(`${repo}.private`, { recursive: true, force: true });
}
