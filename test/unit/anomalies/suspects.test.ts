import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { cluesWhere, suspectCommits, termsFrom, termsFromText, type AnomalyClues } from '../../../src/core/anomalies/suspects.js';
import type { LogIndex } from '../../../src/core/logs/log-index.js';
import type { LineOptions } from '../../helpers/log-lines.js';
import { indexLines } from '../../helpers/log-index.js';
import { createTempRepo, GIT_TEST_ENV, type TempRepo } from '../../helpers/temp-repo.js';

const HOUR = 3_600_000;
// The onset is days after the temp repository's first commit, so that commit is outside the lookback.
const ONSET = Date.now() + 10 * 24 * HOUR;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const COMPACTION = (batch: number) =>
  [
    'import { store } from "../store.ts";',
    '',
    ...Array.from({ length: 30 }, (_, i) => `// compaction step ${i}`),
    'export async function compactVoiceContext(session) {',
    `  const batchSize = ${batch};`,
    '  try {',
    '    await summarise(session, batchSize);',
    '  } catch (error) {',
    '    store.logAction({',
    '      kind: "voice_error",',
    '      content: "voice_context_compaction_failed",',
    '      metadata: { error: String(error) },',
    '    });',
    '  }',
    '}',
    '',
  ].join('\n');

const PIPELINE = (variant: string) =>
  ['import { compactVoiceContext } from "./voiceContextCompaction.ts";', ...Array.from({ length: 40 }, (_, i) => `// pipeline step ${i}`), `export const pipeline = "${variant}";`, ''].join('\n');

async function commitAt(dir: string, files: Record<string, string>, subject: string, at: number): Promise<string> {
  for (const [name, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), content);
  }
  const date = new Date(at).toISOString();
  const env = { ...GIT_TEST_ENV, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
  await execa('git', ['add', '-A'], { cwd: dir, env });
  await execa('git', ['commit', '-q', '-m', subject], { cwd: dir, env });
  return (await execa('git', ['rev-parse', 'HEAD'], { cwd: dir })).stdout.trim();
}

/**
 * A bot whose compaction breaks 30 h before the onset, followed by commits that are more
 * recent but unrelated: one changes the file that imports the compaction, one logs
 * voice_error (a name in 20 files) in more places, one edits docs, one the music code.
 */
async function botRepo(): Promise<{ repo: TempRepo; culprit: string; shas: Record<string, string> }> {
  const files: Record<string, string> = {
    'src/voice/voiceContextCompaction.ts': COMPACTION(8),
    'src/voice/voiceReplyPipeline.ts': PIPELINE('a'),
    'src/music.ts': 'export function play(track) {\n  return track;\n}\n',
    'src/store.ts': 'export const store = { logAction() {} };\n',
  };
  for (let i = 0; i < 20; i++) files[`src/voice/handler${i}.ts`] = `export const kind${i} = "voice_error";\n`;
  const repo = await createTempRepo({ files });
  cleanups.push(() => repo.cleanup());
  const shas: Record<string, string> = {};
  shas['store'] = await commitAt(repo.dir, { 'src/store.ts': 'export const store = { logAction(_action) {} };\n' }, 'Store: take the action', ONSET - 40 * HOUR);
  shas['culprit'] = await commitAt(repo.dir, { 'src/voice/voiceContextCompaction.ts': COMPACTION(0) }, 'Compact in smaller batches', ONSET - 30 * HOUR);
  shas['pipeline'] = await commitAt(repo.dir, { 'src/voice/voiceReplyPipeline.ts': PIPELINE('b') }, 'Tidy the reply pipeline', ONSET - 6 * HOUR);
  const generic: Record<string, string> = {};
  for (let i = 0; i < 5; i++) generic[`src/voice/handler${i}.ts`] = `export const kind${i} = "voice_error"; // logged\n`;
  shas['generic'] = await commitAt(repo.dir, generic, 'Log voice errors in more handlers', ONSET - 3 * HOUR);
  shas['docs'] = await commitAt(repo.dir, { 'README.md': '# bot\n\nVoice.\n' }, 'Docs', ONSET - 1 * HOUR);
  shas['music'] = await commitAt(repo.dir, { 'src/music.ts': 'export function play(track) {\n  return track ?? null;\n}\n' }, 'Play nothing when there is no track', ONSET - 0.5 * HOUR);
  return { repo, culprit: shas['culprit']!, shas };
}

/** A real log index over these lines: the clues come from SQL over the `logs` view. */
async function indexOf(lines: LineOptions[]): Promise<LogIndex> {
  const { index, close } = await indexLines(lines, 'selfscope-suspects-');
  cleanups.push(close);
  return index;
}

const WINDOW = { from: new Date(ONSET - HOUR).toISOString(), to: new Date(ONSET + HOUR).toISOString() };

async function compactionClues(extra: LineOptions[] = []): Promise<AnomalyClues> {
  // As the bot logs it: no stack, no file, the message only in metadata.error.
  const failures: LineOptions[] = Array.from({ length: 6 }, (_, i) => ({
    ts: new Date(ONSET + i * 60_000),
    kind: 'voice_error',
    event: 'voice_context_compaction_failed',
    metadata: { sessionId: `vs-${i}`, error: `upstream timed out after ${3000 + i} ms` },
  }));
  const index = await indexOf([...failures, ...extra]);
  return cluesWhere(index, { sql: 'kind = ?', params: ['voice_error'] }, WINDOW);
}

describe('clues from the logs', () => {
  it('derives terms from the matching rows: event names, their code forms, kinds; not variable error text', async () => {
    const clues = await compactionClues([{ ts: new Date(ONSET), kind: 'voice_error', event: 'realtime_tool_call_failed: socket closed', metadata: { toolName: 'music_queue_add', error: 'Error: socket closed' } }]);
    const terms = clues.terms.map((t) => t.term);
    expect(terms.slice(0, 2)).toEqual(['voice_context_compaction_failed', 'realtime_tool_call_failed']);
    expect(terms).toEqual(expect.arrayContaining(['music_queue_add', 'voice_error', 'voice_context_compaction', 'voiceContextCompaction', 'VoiceContextCompaction', 'voice-context-compaction', 'musicQueueAdd']));
    expect(clues.terms.find((t) => t.term === 'voiceContextCompaction')!.from).toContain('camelCase of event');
    // Error text with numbers in it never appears in code as such; "Error" alone is too short; "voice" too generic.
    expect(terms.some((t) => t.includes('timed out') || t === 'Error' || t === 'voice')).toBe(false);
    expect(clues.texts).toContain('upstream timed out after 3000 ms');
  });

  it('keeps error prefixes and phrases that could be in the code, and never takes free text as a name', () => {
    const terms = termsFrom([
      { value: 'queue state undefined', from: 'error', phrase: true },
      { value: 'hello there how are you', from: 'event' },
      { value: '--output=/tmp/x', from: 'event' },
      { value: 'fetch https://example.com/a failed', from: 'error', phrase: true },
    ]).map((t) => t.term);
    expect(terms).toEqual(['queue state undefined']);
    expect(termsFromText(['voice_context_compaction_failed: upstream timed out\n    at nothing']).map((t) => t.term)).toContain('voiceContextCompaction');
  });
});

describe('suspectCommits without stacks or paths', () => {
  it('ranks the commit that changed the code near the failing event first, and says which names and lines', async () => {
    const { repo, culprit, shas } = await botRepo();
    const clues = await compactionClues();
    expect(clues.texts.join('\n')).not.toMatch(/\.ts/);
    const onset = new Date(ONSET);

    // By time alone the newest commit leads: the names are what point at the culprit.
    const byTime = await suspectCommits({ repo: repo.dir, onset, texts: [] });
    expect(byTime.suspects[0]!.sha).toBe(shas['music']);

    const r = await suspectCommits({ repo: repo.dir, onset, texts: clues });
    expect(r.suspects[0]!.sha).toBe(culprit);
    const why = r.suspects[0]!.reasons.join('; ');
    expect(why).toContain('src/voice/voiceContextCompaction.ts');
    expect(why).toContain('voice_context_compaction_failed');
    expect(why).toMatch(/changed lines within 15 of src\/voice\/voiceContextCompaction\.ts:\d+ \(voice_context_compaction_failed/);
    // The name in 21 files says nothing: the commit that logs it in more handlers gains nothing from it.
    const voiceError = r.terms.find((t) => t.term === 'voice_error')!;
    expect(voiceError).toMatchObject({ used: false, files: 21 });
    expect(voiceError.note).toMatch(/too common/);
    const generic = r.suspects.find((s) => s.sha === shas['generic'])!;
    expect(generic.reasons).toHaveLength(1);
    // The pipeline imports the compaction: it counts, but less than the file that logs the event.
    const pipeline = r.suspects.find((s) => s.sha === shas['pipeline'])!;
    expect(pipeline.reasons.join(';')).toContain('src/voice/voiceReplyPipeline.ts (holds voiceContextCompaction)');
    expect(r.suspects.findIndex((s) => s.sha === shas['pipeline'])).toBeGreaterThan(0);
    expect(r.terms.find((t) => t.term === 'voice_context_compaction_failed')).toMatchObject({ used: true, files: 1, where: [expect.stringMatching(/^src\/voice\/voiceContextCompaction\.ts:\d+$/)] });
    expect(r.search.commit).toBe(shas['music']);
    expect(r.search.note).toBeNull();
  });

  it('searches the tree that ran at the onset, not later commits', async () => {
    const { repo, culprit } = await botRepo();
    // After the onset the event is renamed away: the search must still see it.
    await commitAt(repo.dir, { 'src/voice/voiceContextCompaction.ts': COMPACTION(0).replace('voice_context_compaction_failed', 'compaction_failed') }, 'Rename the event', ONSET + HOUR);
    const r = await suspectCommits({ repo: repo.dir, onset: new Date(ONSET), texts: await compactionClues() });
    expect(r.suspects[0]!.sha).toBe(culprit);
    expect(r.terms.find((t) => t.term === 'voice_context_compaction_failed')).toMatchObject({ used: true, files: 1 });
  });

  it('still ranks by files named in stack traces first, above files found by name', async () => {
    const { repo, culprit, shas } = await botRepo();
    const clues = await compactionClues();
    // The store commit is older than the culprit, but a stack trace names its file (no line).
    const r = await suspectCommits({ repo: repo.dir, onset: new Date(ONSET), texts: { texts: [...clues.texts, 'TypeError: x is undefined\n    at logAction (src/store.ts)'], terms: clues.terms } });
    expect(r.suspects[0]!.sha).toBe(shas['store']);
    expect(r.suspects[0]!.reasons.join('; ')).toContain('touches src/store.ts, named in the errors');
    expect(r.suspects[1]!.sha).toBe(culprit);
    expect(r.named_files).toEqual(['src/store.ts']);
  });

  it('takes plain error texts as before (the prompt path), with their names', async () => {
    const { repo, culprit } = await botRepo();
    const r = await suspectCommits({ repo: repo.dir, onset: new Date(ONSET), texts: ['voice_context_compaction_failed: upstream timed out'] });
    expect(r.suspects[0]!.sha).toBe(culprit);
    expect(r.terms.find((t) => t.term === 'voice_context_compaction_failed')!.from).toEqual(['error text']);
  });

  it('ranks by time, with a note, when there is no commit to search or the names are nowhere', async () => {
    const { repo, shas } = await botRepo();
    const r = await suspectCommits({ repo: repo.dir, onset: new Date(ONSET), texts: { texts: [], terms: [{ term: 'absent_everywhere', from: ['event'] }] } });
    expect(r.suspects.map((s) => s.sha)).toEqual([shas['music'], shas['docs'], shas['generic'], shas['pipeline'], shas['culprit'], shas['store']]);
    expect(r.terms).toEqual([{ term: 'absent_everywhere', from: ['event'], files: 0, used: false, where: [], note: 'in no tracked file' }]);
    const none = await suspectCommits({ repo: repo.dir, onset: new Date(ONSET - 40 * 24 * HOUR), texts: { texts: [], terms: [{ term: 'absent_everywhere', from: ['event'] }] } });
    expect(none.suspects).toEqual([]);
    expect(none.search.note).toMatch(/no commit in the lookback/);
    const many = await suspectCommits({ repo: repo.dir, onset: new Date(ONSET), texts: { texts: [], terms: Array.from({ length: 30 }, (_, i) => ({ term: `absent_${i}_everywhere`, from: ['event'] })) } });
    expect(many.terms).toHaveLength(20);
    expect(many.search.note).toBe('10 more terms were not listed');
  });

  it('keeps hostile names from logs literal and its reasons bounded', async () => {
    const { repo, culprit } = await botRepo();
    const clues = await compactionClues();
    const hostile = ['--open-files-in-pager=touch pwned', 'x\u0000y', '"; rm -rf / #', '.*', '[a-z]+_failed', 'y'.repeat(5000)].map((term) => ({ term, from: ['error'] }));
    const r = await suspectCommits({ repo: repo.dir, onset: new Date(ONSET), texts: { texts: clues.texts, terms: [...hostile, ...clues.terms] } });
    expect(r.suspects[0]!.sha).toBe(culprit);
    await expect(fs.access(path.join(repo.dir, 'pwned'))).rejects.toThrow();
    expect(r.terms.filter((t) => t.used).map((t) => t.term)).toEqual(['voice_context_compaction_failed', 'voice_context_compaction', 'voiceContextCompaction']);
    expect(r.terms.find((t) => t.term.startsWith('x'))!.note).toBe('holds a control character');
    for (const s of r.suspects) for (const reason of s.reasons) expect(reason.length).toBeLessThan(700);
  });
});
