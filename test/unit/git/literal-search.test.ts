import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UserInputError } from '../../../src/core/errors.js';
import { resolveCommit, searchLiterals } from '../../../src/core/git/literal-search.js';
import { GitRunner } from '../../../src/core/git/runner.js';
import { createTempRepo, git, type TempRepo } from '../../helpers/temp-repo.js';

const repos: TempRepo[] = [];
afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.cleanup()));
});

async function repoWith(files: Record<string, string>) {
  const repo = await createTempRepo({ files });
  repos.push(repo);
  const runner = new GitRunner(repo.dir);
  return { repo, runner, commit: await resolveCommit(runner, 'HEAD') };
}

describe('searchLiterals', () => {
  it('finds each term literally, with its files and lines, at the commit only (not the work tree)', async () => {
    const { repo, runner, commit } = await repoWith({
      'src/voice/voiceContextCompaction.ts': 'export function compact() {\n  log("voice_context_compaction_failed");\n}\n',
      'src/voice/pipeline.ts': 'import { compact } from "./voiceContextCompaction.ts";\n',
    });
    // Neither an untracked file nor an uncommitted edit is searched.
    await fs.writeFile(path.join(repo.dir, 'untracked.ts'), 'voice_context_compaction_failed\n');
    await fs.appendFile(path.join(repo.dir, 'src/voice/pipeline.ts'), 'voice_context_compaction_failed\n');
    const r = await searchLiterals(runner, commit, ['voice_context_compaction_failed', 'voice_context_compaction', 'voiceContextCompaction', 'nowhere_at_all']);
    const byTerm = Object.fromEntries(r.terms.map((t) => [t.term, t]));
    expect(byTerm['voice_context_compaction_failed']).toMatchObject({ status: 'found', file_count: 1, files: [{ path: 'src/voice/voiceContextCompaction.ts', lines: [2], in_path: false }] });
    // A shorter term inside a longer match still counts there.
    expect(byTerm['voice_context_compaction']!.files.map((f) => f.path)).toEqual(['src/voice/voiceContextCompaction.ts']);
    // The path holds the camelCase name; the pipeline's text does.
    expect(byTerm['voiceContextCompaction']!.files).toEqual([
      { path: 'src/voice/pipeline.ts', lines: [1], line_count: 1, in_path: false },
      { path: 'src/voice/voiceContextCompaction.ts', lines: [], line_count: 0, in_path: true },
    ]);
    expect(byTerm['nowhere_at_all']).toMatchObject({ status: 'absent', file_count: 0 });
  });

  it('reports a term in too many files as too common, and keeps the rare ones', async () => {
    const files: Record<string, string> = { 'src/rare.ts': 'emit("voice_error"); emit("rare_event_name");\n' };
    for (let i = 0; i < 6; i++) files[`src/f${i}.ts`] = `kind = "voice_error";\n`;
    const { runner, commit } = await repoWith(files);
    const r = await searchLiterals(runner, commit, ['voice_error', 'rare_event_name'], { maxFilesPerTerm: 5 });
    expect(r.terms.find((t) => t.term === 'voice_error')).toMatchObject({ status: 'too_common', file_count: 7, files: [] });
    expect(r.terms.find((t) => t.term === 'rare_event_name')).toMatchObject({ status: 'found', file_count: 1 });
  });

  it('counts terms one by one when all of them at once would say too much, and still finds the rare ones', async () => {
    const files: Record<string, string> = { 'src/rare.ts': 'rare_event_name\n' };
    for (let i = 0; i < 30; i++) files[`src/f${i}.ts`] = 'common_word\n'.repeat(40);
    const { runner, commit } = await repoWith(files);
    const r = await searchLiterals(runner, commit, ['common_word', 'rare_event_name'], { maxFilesPerTerm: 5, maxOutputBytes: 20_000 });
    expect(r.degraded).toBe(true);
    expect(r.terms.find((t) => t.term === 'common_word')).toMatchObject({ status: 'too_common', file_count: 30 });
    expect(r.terms.find((t) => t.term === 'rare_event_name')).toMatchObject({ status: 'found', files: [{ path: 'src/rare.ts', lines: [1] }] });
  });

  it('treats hostile terms from logs as literal text or rejects them, never as options or patterns', async () => {
    const { repo, runner, commit } = await repoWith({
      'src/literal.ts': 'const re = "foo.*bar";\nconst s = "[abc]+x";\nconst o = "--open-files-in-pager=touch pwned";\nconst q = `it\'s "quoted" $(touch pwned)`;\n',
      'src/other.ts': 'fooXYZbar\naaaax\n',
    });
    const marker = path.join(repo.dir, 'pwned');
    const hostile = ['foo.*bar', '[abc]+x', `--open-files-in-pager=touch pwned`, '-e', '--', `it's "quoted" $(touch pwned)`, 'null\u0000byte', 'line\nbreak', 'x'.repeat(10_000), '  padded  ', '--no-index', '-O'];
    const r = await searchLiterals(runner, commit, hostile);
    const byTerm = Object.fromEntries(r.terms.map((t) => [t.term, t]));
    for (const term of ['foo.*bar', '[abc]+x', `--open-files-in-pager=touch pwned`, `it's "quoted" $(touch pwned)`]) {
      expect(byTerm[term], term).toMatchObject({ status: 'found', files: [{ path: 'src/literal.ts' }] });
    }
    expect(byTerm['null\u0000byte']).toMatchObject({ status: 'rejected', note: 'holds a control character' });
    expect(byTerm['line\nbreak']).toMatchObject({ status: 'rejected', note: 'holds a control character' });
    expect(byTerm['x'.repeat(10_000)]!.note).toMatch(/longer than/);
    expect(byTerm['-e']!.note).toMatch(/shorter than/);
    expect(byTerm['  padded  ']!.note).toMatch(/white space/);
    expect(byTerm['--no-index']).toMatchObject({ status: 'absent' });
    await expect(fs.access(marker)).rejects.toThrow();
    await expect(fs.access(path.join(repo.dir, 'src', 'pwned'))).rejects.toThrow();
  });

  it('searches at most maxTerms terms and says which were left out', async () => {
    const { runner, commit } = await repoWith({ 'a.ts': 'alpha_term beta_term gamma_term\n' });
    const r = await searchLiterals(runner, commit, ['alpha_term', 'beta_term', 'gamma_term'], { maxTerms: 2 });
    expect(r.terms.map((t) => t.status)).toEqual(['found', 'found', 'not_searched']);
  });

  it('takes only a full commit id, and resolves refs the safe way', async () => {
    const { repo, runner, commit } = await repoWith({ 'a.ts': 'x\n' });
    await expect(searchLiterals(runner, 'HEAD', ['alpha_term'])).rejects.toBeInstanceOf(UserInputError);
    await expect(searchLiterals(runner, '--output=/tmp/x', ['alpha_term'])).rejects.toBeInstanceOf(UserInputError);
    await expect(resolveCommit(runner, '--output=/tmp/x')).rejects.toBeInstanceOf(UserInputError);
    await expect(resolveCommit(runner, 'no-such-branch')).rejects.toThrow(/does not name a commit/);
    expect(await resolveCommit(runner, 'main')).toBe(commit);
    expect(commit).toBe((await git(repo.dir, ['rev-parse', 'HEAD'])).trim());
  });
});
