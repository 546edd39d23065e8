import { gitLog } from '../git/inspect.js';
import type { LogQueryable } from '../logs/columns.js';
import { subjectSql, type Anomaly } from './detect.js';
import { GitRunner } from '../git/runner.js';
import { sanitizeUntrusted } from '../text/bounded.js';
import { humanDuration } from '../text/durations.js';

/**
 * suspect_commits: which commits probably caused an incident. Two signals, each with its
 * reason: the commit landed in the hours before the onset (closer is more suspect), and it
 * touched a file named in the errors' messages or stack traces (more so when `git blame`
 * of the named line points at it).
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

const FILE_REF = /((?:[\w.@-]+\/)*[\w.@-]+\.(?:[cm]?[jt]sx?|py|go|rs|rb|java|kt|json))(?::(\d+))?(?::\d+)?/g;

/** The error messages and stack traces of an anomaly's failing events: they name the files. */
export async function anomalyErrorTexts(logs: LogQueryable, anomaly: Pick<Anomaly, 'rule' | 'subject' | 'window'>): Promise<string[]> {
  const cond = subjectSql(anomaly);
  const rows = await logs.all<{ e: string | null; s: string | null }>(
    `SELECT error AS e, json_extract_string(metadata, '$.stack') AS s FROM logs WHERE ts >= ? AND ts < ? AND ${cond.sql} AND is_failure LIMIT 20`,
    [new Date(anomaly.window.from), new Date(anomaly.window.to), ...cond.params],
  );
  return rows.flatMap((r) => [r.e ?? '', r.s ?? '']).filter(Boolean);
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

export async function suspectCommits(options: { repo: string; onset: Date; texts: string[]; lookbackHours?: number; max?: number; ref?: string }): Promise<{ suspects: Suspect[]; named_files: string[] }> {
  const lookback = (options.lookbackHours ?? 48) * 3_600_000;
  const named = filesNamed(options.texts);
  const commits = await gitLog(options.repo, { since: new Date(options.onset.getTime() - lookback).toISOString(), until: options.onset.toISOString(), max: 100, ...(options.ref ? { ref: options.ref } : {}) });
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
  const suspects = commits.map((c) => {
    const reasons: string[] = [];
    const ageH = (options.onset.getTime() - Date.parse(c.date)) / 3_600_000;
    let score = Math.max(0, 1 - ageH / (lookback / 3_600_000));
    reasons.push(`landed ${humanDuration(ageH * 3_600_000)} before the onset`);
    const touched = c.files.map((f) => f.path).filter((p) => named.some((n) => p === n.file || p.endsWith(`/${n.file}`) || n.file.endsWith(`/${p}`)));
    if (touched.length) {
      score += 2;
      reasons.push(`touches ${touched.join(', ')}, named in the errors`);
    }
    const lines = blamed.get(c.sha);
    if (lines) {
      score += 3;
      reasons.push(`git blame puts ${lines.join(', ')} on it`);
    }
    return { sha: c.sha, date: c.date, author: c.author, subject: c.subject, score: Math.round(score * 100) / 100, reasons, files: c.files.slice(0, 20).map((f) => f.path) };
  });
  suspects.sort((a, b) => b.score - a.score || Date.parse(b.date) - Date.parse(a.date));
  return { suspects: suspects.slice(0, options.max ?? 10), named_files: named.map((n) => sanitizeUntrusted(`${n.file}${n.line ? `:${n.line}` : ''}`, 200).text) };
}
