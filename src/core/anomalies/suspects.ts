import { gitLog, type LogEntry } from '../git/inspect.js';
import { searchLiterals, type LiteralSearchLimits, type TermResult } from '../git/literal-search.js';
import type { LogQueryable } from '../logs/columns.js';
import { subjectSql, type Anomaly } from './detect.js';
import { GitRunner } from '../git/runner.js';
import { sanitizeUntrusted } from '../text/bounded.js';
import { humanDuration } from '../text/durations.js';

/**
 * suspect_commits: which commits probably caused an incident. Each signal comes with its
 * reason: the commit landed in the hours before the onset (closer is more suspect); it
 * touched a file named in the errors' messages or stack traces (more so when `git blame`
 * of the named line points at it); and, for errors that name no file (the usual case), it
 * touched a file holding the names the failing events carry — their kinds, event names,
 * tool names, error prefixes and operations, as logged or in camelCase — more so when it
 * last changed the lines holding them or lines close by. A name found in many files says
 * little and is left out; the rarer a name, the more its files count. Files named in stack
 * traces always count more than files found by name.
 */

export interface Suspect {
  sha: string;
  date: string;
  author: string;
  subject: string;
  score: number;
  reasons: string[];
  files: string[];
}

/** A literal string the failing events carry, and where it came from. */
export interface ClueTerm {
  term: string;
  /** e.g. "event", "camelCase of kind". */
  from: string[];
}

/** What an anomaly's rows say about the code: error texts and stacks (file names), and names. */
export interface AnomalyClues {
  texts: string[];
  terms: ClueTerm[];
}

/** How one term fared in the search, for the reader. */
export interface TermSummary {
  term: string;
  from: string[];
  /** Tracked files holding it. */
  files: number;
  /** It counted in the ranking. */
  used: boolean;
  /** Up to three `path:line` where it is. */
  where: string[];
  note: string | null;
}

const FILE_REF = /((?:[\w.@-]+\/)*[\w.@-]+\.(?:[cm]?[jt]sx?|py|go|rs|rb|java|kt|json))(?::(\d+))?(?::\d+)?/g;

/** The error messages and stack traces of an anomaly's failing events: they name the files. */
async function errorTexts(logs: LogQueryable, cond: { sql: string; params: unknown[] }, window: { from: string; to: string }): Promise<string[]> {
  const rows = await logs.all<{ e: string | null; s: string | null }>(
    `SELECT error AS e, json_extract_string(metadata, '$.stack') AS s FROM logs WHERE ts >= ? AND ts < ? AND (${cond.sql}) AND is_failure LIMIT 20`,
    [new Date(window.from), new Date(window.to), ...cond.params],
  );
  return rows.flatMap((r) => [r.e ?? '', r.s ?? '']).filter(Boolean);
}

// Values longer than this are cut in SQL; a term is at most this long anyway.
const VALUE_CHARS = 160;

/**
 * The names the rows matching `cond` carry in the window: kinds, event names (the stable part
 * before ":"), tool names, error prefixes, operations; failures first, then the most frequent.
 */
export async function cluesWhere(logs: LogQueryable, cond: { sql: string; params: unknown[] }, window: { from: string; to: string }): Promise<AnomalyClues> {
  const rows = await logs.all<Record<'kind' | 'event' | 'tool_name' | 'error' | 'operation', string | null>>(
    `SELECT left(kind, ${VALUE_CHARS}) AS kind, left(trim(split_part(event, ':', 1)), ${VALUE_CHARS}) AS event, left(tool_name, ${VALUE_CHARS}) AS tool_name,
            left(trim(split_part(error, ':', 1)), ${VALUE_CHARS}) AS error, left(operation, ${VALUE_CHARS}) AS operation,
            bool_or(is_failure) AS failed, count(*) AS n
       FROM logs WHERE ts >= ? AND ts < ? AND (${cond.sql}) GROUP BY ALL ORDER BY failed DESC, n DESC LIMIT 40`,
    [new Date(window.from), new Date(window.to), ...cond.params],
  );
  const found: Array<{ value: string | null; from: string; phrase?: boolean }> = [];
  // The most specific first: when terms are cut to a bound, operations and kinds are cut first.
  for (const r of rows) found.push({ value: r.event, from: 'event' }, { value: r.error, from: 'error', phrase: true }, { value: r.tool_name, from: 'tool' });
  for (const r of rows) found.push({ value: r.operation, from: 'operation' }, { value: r.kind, from: 'kind' });
  return { texts: await errorTexts(logs, cond, window), terms: termsFrom(found) };
}

/** The clues of an anomaly: the rows `subjectSql` selects in its window. */
export async function anomalyClues(logs: LogQueryable, anomaly: Pick<Anomaly, 'rule' | 'subject' | 'window'>): Promise<AnomalyClues> {
  return cluesWhere(logs, subjectSql(anomaly), anomaly.window);
}

const IDENTIFIER = /^[A-Za-z_$][\w$.-]*$/;
const OUTCOME = /[_-](?:failed|failure|failures|fail|error|errors|errored|timeout|timed_out|rejected|crashed|exception|aborted|completed|complete|succeeded|success|started|start|skipped|done|call|calls|called|result)$/;
// Ids, counts and addresses vary between occurrences: a phrase holding them is never in the code.
const VARIABLE = /\d{4,}|\b(?=[a-f]*\d)[0-9a-f]{8,}\b|:\/\/|[<>{}[\]]/i;

function words(id: string): string[] {
  return id.split(/[_-]+/).filter(Boolean);
}

const camel = (ws: string[]) => ws.map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('');
const pascal = (ws: string[]) => ws.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');

/**
 * Literal terms from logged values, most telling first: each identifier as logged, then its
 * forms in code (its stem without the outcome word, camelCase, PascalCase, kebab-case), e.g.
 * `voice_context_compaction_failed` → `voice_context_compaction`, `voiceContextCompaction`.
 * Error phrases (no ":") are kept when they hold nothing variable. One-word stems are dropped:
 * `voice` of `voice_error` is everywhere.
 */
export function termsFrom(values: ReadonlyArray<{ value: string | null | undefined; from: string; phrase?: boolean }>, maxTerms = 32): ClueTerm[] {
  const terms = new Map<string, Set<string>>();
  const variants: Array<[string, string]> = [];
  const add = (term: string, from: string) => {
    if (term.length < 6) return;
    const known = terms.get(term);
    if (known) known.add(from);
    else terms.set(term, new Set([from]));
  };
  for (const { value, from, phrase } of values) {
    const v = (value ?? '').trim();
    if (!v || v.length > VALUE_CHARS) continue;
    if (IDENTIFIER.test(v)) {
      add(v, from);
      const ws = words(v);
      if (ws.length < 2 || v !== v.toLowerCase()) continue;
      const stem = OUTCOME.test(v) ? v.replace(OUTCOME, '') : null;
      const sw = stem ? words(stem) : ws;
      if (stem && sw.length >= 2) variants.push([stem, `${from} stem`]);
      if (sw.length >= 2) {
        variants.push([camel(sw), `camelCase of ${from}`], [pascal(sw), `PascalCase of ${from}`]);
        const other = v.includes('_') ? sw.join('-') : sw.join('_');
        variants.push([other, `${v.includes('_') ? 'kebab' : 'snake'}-case of ${from}`]);
      }
      if (stem) variants.push([camel(ws), `camelCase of ${from}`]);
    } else if (phrase && v.length >= 8 && v.length <= 120 && /[A-Za-z]{3}/.test(v) && !VARIABLE.test(v)) {
      add(v, from);
    }
  }
  for (const [term, from] of variants) add(term, from);
  return [...terms.entries()].slice(0, maxTerms).map(([term, from]) => ({ term, from: [...from] }));
}

/** Names in free error text (a pasted message or stack): its prefix before ":" and snake_case words. */
export function termsFromText(texts: readonly string[]): ClueTerm[] {
  const values: Array<{ value: string; from: string; phrase?: boolean }> = [];
  for (const text of texts.slice(0, 20)) {
    const first = text.slice(0, 2000).split('\n')[0]!;
    const prefix = first.split(':')[0]!.trim();
    if (prefix) values.push({ value: prefix, from: 'error text', phrase: true });
    for (const m of text.slice(0, 5000).matchAll(/\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b/g)) if (values.length < 24) values.push({ value: m[0], from: 'error text' });
  }
  return termsFrom(values, 8);
}

/** Files (and lines) named in error texts and stack traces. */
export function filesNamed(texts: readonly string[]): Array<{ file: string; line: number | null }> {
  const seen = new Map<string, { file: string; line: number | null }>();
  for (const text of texts) {
    for (const m of text.matchAll(FILE_REF)) {
      const file = m[1]!.replace(/^(\.\/|\/)/, '').replace(/^.*?\b(src|lib|app|test)\//, '$1/');
      if (/node_modules|^node:/.test(file)) continue;
      const key = `${file}:${m[2] ?? ''}`;
      if (!seen.has(key)) seen.set(key, { file, line: m[2] ? Number(m[2]) : null });
    }
  }
  return [...seen.values()].slice(0, 20);
}

// Weights. A file named in a stack (2) counts more than everything found by name together
// (FILE_CAP + LINE_CAP), and blame of a named line (3) more still.
const STACK_FILE = 2;
const STACK_LINE = 3;
const FILE_CAP = 1;
const EXACT_LINE = 1;
const NEAR_LINE = 0.6;
const LINE_CAP = 0.9;
/** Lines this close to a line holding a term count as changing it (the same function, usually). */
const NEAR = 15;
const MAX_BLAMED_FILES = 8;
const MAX_BLAMED_LINES = 12;
const MAX_TERMS_SHOWN = 20;
// Prose and data describe the code; a change to them rarely breaks it.
const PROSE = /\.(md|mdx|txt|rst|adoc|lock|log|csv|svg|html?|ya?ml)$|(^|\/)(CHANGELOG|LICENSE)[^/]*$/i;

/** The rarer a term, the more its files say: 1 for a term in one file, 1/√n in n files. */
const specificity = (fileCount: number) => 1 / Math.sqrt(Math.max(1, fileCount));
const show = (term: string) => sanitizeUntrusted(term, 80).text;

function list(items: readonly string[], max: number): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

interface TermLine {
  terms: string[];
  weight: number;
}

/** For each file the found terms are in: its weight and its lines holding terms. */
function indexTermFiles(found: readonly TermResult[]): Map<string, { weight: number; terms: string[]; lines: Map<number, TermLine> }> {
  const files = new Map<string, { weight: number; terms: string[]; lines: Map<number, TermLine> }>();
  for (const t of found) {
    const w = specificity(t.file_count);
    for (const f of t.files) {
      let entry = files.get(f.path);
      if (!entry) files.set(f.path, (entry = { weight: 0, terms: [], lines: new Map() }));
      entry.weight = Math.max(entry.weight, w * (PROSE.test(f.path) ? 0.5 : 1));
      entry.terms.push(t.term);
      for (const line of f.lines) {
        const at = entry.lines.get(line) ?? { terms: [], weight: 0 };
        at.terms.push(t.term);
        at.weight = Math.max(at.weight, w);
        entry.lines.set(line, at);
      }
    }
  }
  for (const entry of files.values()) entry.terms.sort((a, b) => b.length - a.length);
  return files;
}

/** Which commit last changed each line near a line holding a term (`git blame` since the lookback). */
async function blameNearTerms(git: GitRunner, commit: string, since: string, file: string, lines: readonly number[]): Promise<Map<string, number[]>> {
  const ranges: Array<[number, number]> = [];
  for (const line of [...lines].sort((a, b) => a - b)) {
    const from = Math.max(1, line - NEAR);
    const last = ranges.at(-1);
    if (last && from <= last[1] + 1) last[1] = line + NEAR;
    else ranges.push([from, line + NEAR]);
  }
  const out = (await git.runBytes(['blame', '--porcelain', '--no-textconv', `--since=${since}`, ...ranges.flatMap(([a, b]) => ['-L', `${a},${b}`]), commit, '--', file], { timeoutMs: 20_000, maxBytes: 4 * 1024 * 1024 })).toString('utf8');
  const owned = new Map<string, number[]>();
  for (const row of out.split('\n')) {
    const m = /^([0-9a-f]{40,64}) \d+ (\d+)/.exec(row);
    if (!m) continue;
    owned.set(m[1]!, [...(owned.get(m[1]!) ?? []), Number(m[2])]);
  }
  return owned;
}

export interface SuspectOptions {
  repo: string;
  onset: Date;
  /** Error texts and stacks, or an anomaly's clues (texts and terms). */
  texts: readonly string[] | AnomalyClues;
  lookbackHours?: number;
  max?: number;
  ref?: string;
  searchLimits?: Partial<LiteralSearchLimits>;
}

export interface SuspectResult {
  suspects: Suspect[];
  named_files: string[];
  terms: TermSummary[];
  /** The commit whose tree was searched for the terms, how long it took, and what went wrong. */
  search: { commit: string | null; elapsed_ms: number | null; note: string | null };
}

export async function suspectCommits(options: SuspectOptions): Promise<SuspectResult> {
  const lookback = (options.lookbackHours ?? 48) * 3_600_000;
  const clues: AnomalyClues = Array.isArray(options.texts) ? { texts: [...(options.texts as readonly string[])], terms: [] } : (options.texts as AnomalyClues);
  const named = filesNamed(clues.texts);
  const since = new Date(options.onset.getTime() - lookback).toISOString();
  const commits = await gitLog(options.repo, { since, until: options.onset.toISOString(), max: 100, ...(options.ref ? { ref: options.ref } : {}) });
  const git = new GitRunner(options.repo);
  const blamed = new Map<string, string[]>();
  for (const n of named.filter((x) => x.line !== null).slice(0, 10)) {
    try {
      const out = await git.run(['blame', '--porcelain', '--no-textconv', '-L', `${n.line},${n.line}`, options.ref ?? 'HEAD', '--', n.file]);
      const sha = out.split(' ')[0]!;
      blamed.set(sha, [...(blamed.get(sha) ?? []), `${n.file}:${n.line}`]);
    } catch {
      // The file or line is not in this revision.
    }
  }

  // Names from the logs, then from the texts (a pasted error), searched in the tree that ran at the onset.
  const fromTerms = new Map<string, string[]>();
  for (const t of [...clues.terms, ...termsFromText(clues.texts)]) fromTerms.set(t.term, [...new Set([...(fromTerms.get(t.term) ?? []), ...t.from])]);
  const search: SuspectResult['search'] = { commit: null, elapsed_ms: null, note: null };
  let termResults: TermResult[] = [];
  let termFiles = indexTermFiles([]);
  const termBlame = new Map<string, Array<{ file: string; line: number }>>();
  if (fromTerms.size && commits.length) {
    search.commit = commits[0]!.sha;
    try {
      const result = await searchLiterals(git, commits[0]!.sha, [...fromTerms.keys()], options.searchLimits);
      search.elapsed_ms = result.elapsed_ms;
      if (result.degraded) search.note = 'some term is in very many files: the lines of some terms may be missing';
      termResults = result.terms;
      termFiles = indexTermFiles(termResults.filter((t) => t.status === 'found'));
      // Blame only where a commit of the lookback changed a file holding a term: that is where it can count.
      const touched = new Set(commits.flatMap((c) => c.files.map((f) => f.path)));
      const worth = [...termFiles.entries()].filter(([path, e]) => touched.has(path) && e.lines.size).sort((a, b) => b[1].weight - a[1].weight);
      for (const [path, entry] of worth.slice(0, MAX_BLAMED_FILES)) {
        const lines = [...entry.lines.entries()].sort((a, b) => b[1].weight - a[1].weight || a[0] - b[0]).slice(0, MAX_BLAMED_LINES).map(([l]) => l);
        try {
          for (const [sha, owned] of await blameNearTerms(git, commits[0]!.sha, since, path, lines)) {
            termBlame.set(sha, [...(termBlame.get(sha) ?? []), ...owned.map((line) => ({ file: path, line }))]);
          }
        } catch {
          // A file git cannot blame here still counts by being touched.
        }
      }
    } catch (error) {
      search.note = `the search for the terms failed, commits are ranked without them: ${sanitizeUntrusted(String((error as Error)?.message ?? error), 200).text}`;
    }
  } else if (fromTerms.size) {
    search.note = 'no commit in the lookback: nothing was searched';
  }

  const suspects = commits.map((c) => {
    const reasons: string[] = [];
    const ageH = (options.onset.getTime() - Date.parse(c.date)) / 3_600_000;
    let score = Math.max(0, 1 - ageH / (lookback / 3_600_000));
    reasons.push(`landed ${humanDuration(ageH * 3_600_000)} before the onset`);
    const touched = c.files.map((f) => f.path).filter((p) => named.some((n) => p === n.file || p.endsWith(`/${n.file}`) || n.file.endsWith(`/${p}`)));
    if (touched.length) {
      score += STACK_FILE;
      reasons.push(`touches ${touched.join(', ')}, named in the errors`);
    }
    const lines = blamed.get(c.sha);
    if (lines) {
      score += STACK_LINE;
      reasons.push(`git blame puts ${lines.join(', ')} on it`);
    }
    score += termScore(c, termFiles, termBlame.get(c.sha) ?? [], reasons);
    return { sha: c.sha, date: c.date, author: c.author, subject: c.subject, score: Math.round(score * 100) / 100, reasons, files: c.files.slice(0, 20).map((f) => f.path) };
  });
  suspects.sort((a, b) => b.score - a.score || Date.parse(b.date) - Date.parse(a.date));

  const byTerm = new Map(termResults.map((t) => [t.term, t]));
  const summaries: TermSummary[] = [...fromTerms.entries()].map(([term, from]) => {
    const r = byTerm.get(term);
    return {
      term: show(term),
      from: from.slice(0, 4),
      files: r?.file_count ?? 0,
      used: r?.status === 'found',
      where: (r?.files ?? []).slice(0, 3).map((f) => sanitizeUntrusted(`${f.path}${f.lines[0] ? `:${f.lines[0]}` : ''}`, 160).text),
      note: r ? (r.status === 'absent' ? 'in no tracked file' : r.note) : null,
    };
  });
  // The used ones first (a stable sort keeps the order of the rest); the list stays short.
  const terms = summaries.sort((a, b) => Number(b.used) - Number(a.used)).slice(0, MAX_TERMS_SHOWN);
  if (summaries.length > terms.length) search.note = `${search.note ? `${search.note}; ` : ''}${summaries.length - terms.length} more terms were not listed`;
  return { suspects: suspects.slice(0, options.max ?? 10), named_files: named.map((n) => sanitizeUntrusted(`${n.file}${n.line ? `:${n.line}` : ''}`, 200).text), terms, search };
}

/** What the names found in the tree add for one commit, with its reasons (bounded). */
function termScore(c: LogEntry, termFiles: ReturnType<typeof indexTermFiles>, owned: ReadonlyArray<{ file: string; line: number }>, reasons: string[]): number {
  let score = 0;
  const hit = c.files.map((f) => f.path).filter((p) => termFiles.has(p)).sort((a, b) => termFiles.get(b)!.weight - termFiles.get(a)!.weight);
  if (hit.length) {
    score += Math.min(FILE_CAP, hit.reduce((n, p) => n + termFiles.get(p)!.weight, 0));
    reasons.push(`touches ${hit.slice(0, 3).map((p) => `${p} (holds ${list(termFiles.get(p)!.terms.map(show), 2)})`).join('; ')}${hit.length > 3 ? ` and ${hit.length - 3} more files holding the names` : ''}`);
  }
  // Per line holding a term, the closest change this commit made to it.
  const best = new Map<string, { file: string; line: number; distance: number; value: number; terms: string[] }>();
  for (const { file, line } of owned) {
    const entry = termFiles.get(file);
    if (!entry) continue;
    for (const [termLine, at] of entry.lines) {
      const distance = Math.abs(termLine - line);
      if (distance > NEAR) continue;
      const value = (distance === 0 ? EXACT_LINE : NEAR_LINE) * at.weight;
      const key = `${file}\0${termLine}`;
      if ((best.get(key)?.value ?? -1) < value) best.set(key, { file, line: termLine, distance, value, terms: at.terms });
    }
  }
  if (best.size) {
    const ranked = [...best.values()].sort((a, b) => b.value - a.value);
    score += Math.min(LINE_CAP, ranked.reduce((n, b) => n + b.value, 0));
    const exact = ranked.filter((b) => b.distance === 0);
    const near = ranked.filter((b) => b.distance > 0);
    const at = (b: (typeof ranked)[number]) => `${b.file}:${b.line} (${list(b.terms.map(show), 2)})`;
    if (exact.length) reasons.push(`last changed the line${exact.length > 1 ? 's' : ''} holding the names at ${list(exact.map(at), 3)}`);
    if (near.length) reasons.push(`changed lines within ${NEAR} of ${list(near.map(at), 3)}`);
  }
  return score;
}
