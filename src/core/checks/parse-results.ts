import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import { XMLParser } from 'fast-xml-parser';

/**
 * Parsers of machine-readable check output (jest/vitest JSON, JUnit XML, tsc diagnostics),
 * and the judgement of a test run: it passes only on a runner's own report that shows at
 * least one executed, non-skipped test and no failure. An exit status alone proves nothing.
 */

export interface TestFailure {
  file: string | null;
  name: string;
  message: string;
  expected?: string;
  actual?: string;
  /** `file:line[:column]`, from the report or else the failure's stack. */
  location?: string;
  line?: number;
}

export type OutcomeStatus = 'passed' | 'failed' | 'skipped';

/** One test's outcome in a run: `id` is the report's file and the test's full name. */
export interface TestOutcome {
  id: string;
  status: OutcomeStatus;
}

export interface TestCounts {
  passed: number;
  failed: number;
  skipped: number;
  total: number;
}

export interface ParsedTests {
  counts: TestCounts;
  failures: TestFailure[];
  /** Every test case the report lists, passed, failed or skipped (failures outside a test too). */
  outcomes: TestOutcome[];
}

/** A test's identity across runs and trees: its file as the report gives it, and its full name. */
export function outcomeId(file: string | null, name: string): string {
  return `${file ?? ''} :: ${name}`;
}

export type ReportFormat = 'jest-json' | 'junit';

export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  code: string;
  message: string;
}

const MAX_MESSAGE = 2000;

function clip(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}

// ANSI colour codes in runner output are noise in a message.
function plain(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

function expectedActual(message: string): { expected?: string; actual?: string } {
  // jest, bun: "Expected: X\n Received: Y"
  const jest = /Expected(?: value)?:?[ \t]*(.+?)\n\s*Received(?: value)?:?[ \t]*(.+?)(\n|$)/s.exec(message);
  if (jest) return { expected: clip(jest[1]!.trim()), actual: clip(jest[2]!.trim()) };
  // node:assert, as node --test prints the error: "actual: X,\n expected: Y,"
  const node = /^\s*actual: (.+?),?\n\s*expected: (.+?),?\n\s*operator:/ms.exec(message);
  if (node) return { expected: clip(node[2]!.trim()), actual: clip(node[1]!.trim()) };
  // chai (vitest): "expected ACTUAL to be EXPECTED"
  const chai = /expected (.+?) to (?:be|equal|deeply equal|strictly equal) (.+?)(?:\s\/\/|$)/m.exec(message);
  if (chai) return { expected: clip(chai[2]!.trim()), actual: clip(chai[1]!.trim()) };
  return diffExpectedActual(message);
}

/**
 * A diff of the two values (vitest and bun `toEqual`, node `deepStrictEqual`): the lines
 * marked `-` are the expected side, `+` the actual (node: `+ actual - expected`).
 */
function diffExpectedActual(message: string): { expected?: string; actual?: string } {
  const lines = message.split('\n');
  // bun puts its "- Expected  - N / + Received  + M" summary after the diff; others head it.
  const summary = lines.findIndex((l) => /^\s*- Expected\s+- \d+\s*$/.test(l));
  const header = summary >= 0 ? lines.findIndex((l) => /expect\(received\)/.test(l)) : lines.findIndex((l) => /^\s*(?:- Expected|\+ actual - expected)/.test(l));
  if (header < 0) return {};
  const expected: string[] = [];
  const actual: string[] = [];
  for (const raw of lines.slice(header + 1, summary >= 0 ? summary : header + 80)) {
    const line = raw.replace(/^\s{0,4}/, '');
    if (/^\s*at /.test(raw) || /^[-+] (?:Expected|Received)\s+[-+] \d+$/.test(line.trim())) break;
    if (/^\+ Received\s*$/.test(line)) continue;
    if (line.startsWith('- ')) expected.push(line.slice(2));
    else if (line.startsWith('+ ')) actual.push(line.slice(2));
  }
  if (expected.length === 0 && actual.length === 0) return {};
  return { expected: clip(expected.join('\n').trim()), actual: clip(actual.join('\n').trim()) };
}

/**
 * `file:line:column` of the first stack frame in the test's own file (else the first one
 * outside node_modules and the runtime), as a path relative to `root` when under it.
 */
export function stackLocation(stack: string, testFile: string | null, root?: string): { location: string; line: number } | null {
  const frames: Array<{ file: string; line: number; column: number }> = [];
  for (const m of stack.matchAll(/(?:\(|at |\s)((?:file:\/\/)?[^\s():]+):(\d+):(\d+)\)?/g)) {
    let file = m[1]!.replace(/^file:\/\//, '');
    try {
      file = decodeURI(file);
    } catch {
      // keep it as written
    }
    if (file.startsWith('node:') || file.includes('/node_modules/') || file.startsWith('internal/')) continue;
    frames.push({ file, line: Number(m[2]), column: Number(m[3]) });
  }
  if (frames.length === 0) return null;
  const base = testFile ? testFile.split(/[\\/]/).pop()! : null;
  const frame = (base && frames.find((f) => f.file.split(/[\\/]/).pop() === base)) || frames[0]!;
  let file = frame.file;
  if (root && file.startsWith(root.endsWith('/') ? root : `${root}/`)) file = file.slice(root.length).replace(/^\/+/, '');
  return { location: `${file}:${frame.line}:${frame.column}`, line: frame.line };
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * Decodes XML entities, the numeric ones too (`&#10;`, `&#x41;`), in one pass: `&amp;#10;`
 * stays the text `&#10;`. An unknown or invalid reference is kept as written.
 */
export function decodeXmlEntities(text: string): string {
  return text.replace(/&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot|apos);/g, (all, ref: string) => {
    if (ref[0] !== '#') return NAMED_ENTITIES[ref] ?? all;
    const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return Number.isInteger(code) && code >= 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : all;
  });
}

interface JestJson {
  numTotalTests?: number;
  numPassedTests?: number;
  numFailedTests?: number;
  numPendingTests?: number;
  numTodoTests?: number;
  numFailedTestSuites?: number;
  numRuntimeErrorTestSuites?: number;
  success?: boolean;
  testResults?: Array<{
    name?: string;
    message?: string;
    status?: string;
    assertionResults?: Array<{ fullName?: string; title?: string; status?: string; failureMessages?: string[]; location?: { line?: number; column?: number } | null }>;
  }>;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** A report's file path, relative to the worktree when under it: ids must match across worktrees. */
function reportPath(file: string | null | undefined, root: string | undefined): string | null {
  if (typeof file !== 'string' || file === '') return null;
  if (!root) return file;
  const prefix = root.endsWith('/') ? root : `${root}/`;
  return file.startsWith(prefix) ? file.slice(prefix.length) : file;
}

/** Outcome ids unique within a run: a second test of the same file and name gets `#2`. */
function uniqueOutcomes(): { add(file: string | null, name: string, status: OutcomeStatus): void; list: TestOutcome[] } {
  const seen = new Map<string, number>();
  const list: TestOutcome[] = [];
  return {
    list,
    add(file, name, status) {
      const base = outcomeId(file, name);
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      list.push({ id: n === 1 ? base : `${base} #${n}`, status });
    },
  };
}

/**
 * vitest's and jest's JSON reporter (the same shape). Null when the text is not such a
 * report. A suite that failed without a failing test (a file that did not load, a failing
 * hook), and a report that calls the run unsuccessful, count as failures. `root` (the
 * worktree) makes the report's absolute file paths relative.
 */
export function parseJestJson(text: string, root?: string): ParsedTests | null {
  let data: JestJson;
  try {
    data = JSON.parse(text) as JestJson;
  } catch {
    return null;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data) || !Array.isArray(data.testResults) || !isCount(data.numTotalTests)) return null;
  for (const key of ['numPassedTests', 'numFailedTests', 'numPendingTests', 'numTodoTests'] as const) {
    if (data[key] !== undefined && !isCount(data[key])) return null;
  }
  const failures: TestFailure[] = [];
  const outcomes = uniqueOutcomes();
  for (const file of data.testResults) {
    if (file === null || typeof file !== 'object') return null;
    const fileName = reportPath(file.name, root);
    const assertions = Array.isArray(file.assertionResults) ? file.assertionResults : [];
    for (const a of assertions) {
      if (a === null || typeof a !== 'object') continue;
      const name = String(a.fullName ?? a.title ?? '(unnamed)');
      outcomes.add(fileName, name, a.status === 'passed' ? 'passed' : a.status === 'failed' ? 'failed' : 'skipped');
    }
    const failed = assertions.filter((a) => a?.status === 'failed');
    for (const a of failed) {
      const message = plain((a.failureMessages ?? []).join('\n'));
      const fromStack = stackLocation(message, file.name ?? null, root);
      const location = a.location?.line ? { location: `${fileName ?? ''}:${a.location.line}:${a.location.column ?? 0}`, line: a.location.line } : fromStack;
      failures.push({
        file: fileName,
        name: a.fullName ?? a.title ?? '(unnamed)',
        message: clip(message.split('\n').slice(0, 12).join('\n')),
        ...expectedActual(message),
        ...(location ? location : {}),
      });
    }
    // A file that failed to load, or whose hooks failed, has no failing assertion but is a failure.
    if (failed.length === 0 && file.status === 'failed') {
      const message = plain(file.message || 'the file failed outside any test');
      const location = stackLocation(message, file.name ?? null, root);
      failures.push({ file: fileName, name: '(file failed to run)', message: clip(message), ...(location ? location : {}) });
      outcomes.add(fileName, '(file failed to run)', 'failed');
    }
  }
  const loadFailures = failures.filter((f) => f.name === '(file failed to run)').length;
  const passed = data.numPassedTests ?? 0;
  let failedCount = (data.numFailedTests ?? 0) + loadFailures;
  const suiteFailures = (data.numFailedTestSuites ?? 0) + (data.numRuntimeErrorTestSuites ?? 0);
  if (failedCount === 0 && (suiteFailures > 0 || (data.success === false && passed > 0))) {
    failures.push({ file: null, name: '(run failed)', message: suiteFailures > 0 ? `${suiteFailures} test suite(s) failed outside any test` : 'the runner reported the run as unsuccessful' });
    outcomes.add(null, '(run failed)', 'failed');
    failedCount = 1;
  }
  const skipped = (data.numPendingTests ?? 0) + (data.numTodoTests ?? 0);
  // Failures the runner did not count as tests (files, suites) are added to its total.
  const uncounted = failedCount - (data.numFailedTests ?? 0);
  const total = Math.max(data.numTotalTests, passed + (data.numFailedTests ?? 0) + skipped) + uncounted;
  return { counts: { passed, failed: failedCount, skipped, total }, failures, outcomes: outcomes.list };
}

type XmlNode = Record<string, unknown>;

function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** An attribute or text as the document means it: every entity decoded, numeric ones too. */
function xmlText(value: unknown): string {
  return value === undefined || value === null ? '' : decodeXmlEntities(String(value));
}

/**
 * A test case's full name: the enclosing suites (describe blocks; bun's per-file suite is
 * left out) and its own name. Without suites, a classname other than node's constant "test".
 */
function testCaseName(tc: XmlNode, suites: readonly string[]): string {
  const name = xmlText(tc['@name'] ?? '(unnamed)');
  if (suites.length > 0) return [...suites, name].join(' > ');
  const classname = tc['@classname'] === undefined ? '' : xmlText(tc['@classname']);
  return classname && classname !== name && classname !== 'test' ? `${classname} > ${name}` : name;
}

/**
 * JUnit XML (node --test's junit reporter, bun test --reporter=junit). Null when the text
 * is not a JUnit report. A todo test counts as skipped even when it fails (as both runners
 * count it); node's closing counts (`<!-- fail N -->`) add failures no test case shows.
 * Entities are decoded here, after parsing, in one pass (numeric ones too).
 */
export function parseJunit(text: string, root?: string): ParsedTests | null {
  if (!/<testsuites?\b/.test(text)) return null;
  let doc: XmlNode;
  try {
    doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', textNodeName: '#text', processEntities: false, parseAttributeValue: false, parseTagValue: false, trimValues: false }).parse(text) as XmlNode;
  } catch {
    return null;
  }
  if (doc === null || typeof doc !== 'object' || (doc['testsuites'] === undefined && doc['testsuite'] === undefined)) return null;
  const counts: TestCounts = { passed: 0, failed: 0, skipped: 0, total: 0 };
  const failures: TestFailure[] = [];
  const outcomes = uniqueOutcomes();
  const visit = (node: XmlNode, file: string | null, suites: readonly string[]) => {
    if (node === null || typeof node !== 'object') return;
    for (const suite of asArray(node['testsuite'] as XmlNode | XmlNode[] | undefined)) {
      if (suite === null || typeof suite !== 'object') continue;
      const suiteFile = suite['@file'] === undefined ? file : reportPath(xmlText(suite['@file']), root);
      const name = xmlText(suite['@name']);
      // bun's outer suite per file is named after the file: not part of a test's name.
      const isFileSuite = name === '' || (suite['@file'] !== undefined && name === xmlText(suite['@file']));
      visit(suite, suiteFile, isFileSuite ? suites : [...suites, name]);
    }
    for (const tc of asArray(node['testcase'] as XmlNode | XmlNode[] | undefined)) {
      if (tc === null || typeof tc !== 'object') {
        counts.total++;
        counts.passed++;
        outcomes.add(file, suites.length ? `${suites.join(' > ')} > ${typeof tc === 'string' ? tc : '(unnamed)'}` : '(unnamed)', 'passed');
        continue;
      }
      counts.total++;
      const tcFile = tc['@file'] === undefined ? file : reportPath(xmlText(tc['@file']), root);
      const name = testCaseName(tc, suites);
      const skipped = tc['skipped'];
      const todo = asArray(skipped as XmlNode | XmlNode[] | undefined).some((s) => s !== null && typeof s === 'object' && (s['@type'] === 'todo' || s['@message'] === 'TODO'));
      const failure = (tc['failure'] ?? tc['error']) as XmlNode | string | undefined;
      if (failure !== undefined && !todo) {
        counts.failed++;
        const f = typeof failure === 'string' ? { '#text': failure } : ((asArray(failure)[0] as XmlNode | undefined) ?? {});
        const body = plain(xmlText(f['#text']));
        const message = plain(xmlText(f['@message'])) || body;
        const line = Number(xmlText(tc['@line']));
        const location = Number.isInteger(line) && line > 0 && tcFile ? { location: `${tcFile}:${line}`, line } : stackLocation(body || message, tcFile, root);
        failures.push({
          file: tcFile,
          name,
          message: clip(message.split('\n').slice(0, 12).join('\n')),
          ...expectedActual(body || message),
          ...(location ? location : {}),
        });
        outcomes.add(tcFile, name, 'failed');
      } else if (skipped !== undefined) {
        counts.skipped++;
        outcomes.add(tcFile, name, 'skipped');
      } else {
        counts.passed++;
        outcomes.add(tcFile, name, 'passed');
      }
    }
  };
  visit(doc, null, []);
  for (const root of asArray(doc['testsuites'] as XmlNode | XmlNode[] | undefined)) visit(root, null, []);
  // node's reporter closes with its own counts; failures outside any test case (a failing hook) show only there.
  const reported = ['fail', 'cancelled'].reduce((sum, key) => sum + Number(new RegExp(`<!--\\s*${key}\\s+(\\d+)\\s*-->`).exec(text)?.[1] ?? 0), 0);
  if (counts.failed === 0 && reported > 0) {
    failures.push({ file: null, name: '(run failed)', message: `the runner counted ${reported} failed or cancelled test(s) outside any test case` });
    outcomes.add(null, '(run failed)', 'failed');
    counts.total += reported;
    counts.failed = reported;
  }
  return { counts, failures, outcomes: outcomes.list };
}

/**
 * Reads the report a runner wrote: a regular file (not a link) in the run's own fresh
 * directory, of bounded size, that parses as the expected format. Otherwise says why not.
 */
export async function readTestReport(file: string, format: ReportFormat, maxBytes = 64 * 1024 * 1024, root?: string): Promise<{ parsed: ParsedTests } | { problem: string }> {
  let handle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { problem: code === 'ENOENT' ? 'no report file was written' : code === 'ELOOP' ? 'the report is a symbolic link' : `the report could not be opened (${code ?? 'error'})` };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { problem: 'the report is not a regular file' };
    if (stat.size > maxBytes) return { problem: `the report is larger than ${maxBytes} bytes` };
    const text = await handle.readFile('utf8');
    const parsed = format === 'junit' ? parseJunit(text, root) : parseJestJson(text, root);
    return parsed ? { parsed } : { problem: `the report is not a valid ${format === 'junit' ? 'JUnit XML' : 'JSON test'} report` };
  } finally {
    await handle.close();
  }
}

export interface TestRunFacts {
  exitCode: number | null;
  /** Why the command cannot count (its runner is unknown), or null. */
  unrecordable: string | null;
  /** The parsed report, or why there is none. */
  report: { parsed: ParsedTests } | { problem: string } | null;
}

/**
 * Why a finished test run is not a pass, in one sentence; null when it is one: a known
 * runner's report, read and parsed, with at least one test executed and passed, none
 * failed, and the command exited 0 (a necessary condition, never a sufficient one).
 */
export function judgeTestRun(facts: TestRunFacts): string | null {
  const exit = facts.exitCode === 0 ? '' : `; the command exited with code ${facts.exitCode}`;
  if (facts.unrecordable) return facts.unrecordable;
  if (!facts.report) return 'the runner wrote no results, so nothing proves a test ran';
  if ('problem' in facts.report) return `no usable report from the runner (${facts.report.problem}), so nothing proves a test ran${exit}`;
  const c = facts.report.parsed.counts;
  if (c.failed > 0) return `${c.failed} of ${c.total} test${c.total === 1 ? '' : 's'} failed (by the runner's report)${exit}`;
  if (c.passed === 0) return c.total === 0 ? 'no test was executed' : c.total === c.skipped ? 'every test was skipped' : 'no test passed';
  if (facts.exitCode !== 0) return `exited with code ${facts.exitCode} although the runner's report shows no failure`;
  return null;
}

/** `tsc --pretty false` diagnostics: `file(line,col): error TS1234: message`. */
export function parseTscOutput(text: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  const re = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/gm;
  for (const m of plain(text).matchAll(re)) {
    out.push({ file: m[1]!.trim(), line: Number(m[2]), column: Number(m[3]), code: m[4]!, message: clip(m[5]!) });
  }
  return out;
}
