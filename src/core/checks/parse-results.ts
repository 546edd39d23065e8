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
  location?: string;
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
  // jest: "Expected: X\n Received: Y"
  const jest = /Expected:?\s*(.+?)\n\s*Received:?\s*(.+?)(\n|$)/s.exec(message);
  if (jest) return { expected: clip(jest[1]!.trim()), actual: clip(jest[2]!.trim()) };
  // chai (vitest): "expected ACTUAL to be EXPECTED"
  const chai = /expected (.+?) to (?:be|equal|deeply equal|strictly equal) (.+?)(?:\s\/\/|$)/m.exec(message);
  if (chai) return { expected: clip(chai[2]!.trim()), actual: clip(chai[1]!.trim()) };
  return {};
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

/**
 * vitest's and jest's JSON reporter (the same shape). Null when the text is not such a
 * report. A suite that failed without a failing test (a file that did not load, a failing
 * hook), and a report that calls the run unsuccessful, count as failures.
 */
export function parseJestJson(text: string): ParsedTests | null {
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
  for (const file of data.testResults) {
    if (file === null || typeof file !== 'object') return null;
    const failed = (Array.isArray(file.assertionResults) ? file.assertionResults : []).filter((a) => a?.status === 'failed');
    for (const a of failed) {
      const message = plain((a.failureMessages ?? []).join('\n'));
      failures.push({
        file: file.name ?? null,
        name: a.fullName ?? a.title ?? '(unnamed)',
        message: clip(message.split('\n').slice(0, 12).join('\n')),
        ...expectedActual(message),
        ...(a.location?.line ? { location: `${file.name ?? ''}:${a.location.line}:${a.location.column ?? 0}` } : {}),
      });
    }
    // A file that failed to load, or whose hooks failed, has no failing assertion but is a failure.
    if (failed.length === 0 && file.status === 'failed') {
      failures.push({ file: file.name ?? null, name: '(file failed to run)', message: clip(plain(file.message || 'the file failed outside any test')) });
    }
  }
  const loadFailures = failures.filter((f) => f.name === '(file failed to run)').length;
  const passed = data.numPassedTests ?? 0;
  let failedCount = (data.numFailedTests ?? 0) + loadFailures;
  const suiteFailures = (data.numFailedTestSuites ?? 0) + (data.numRuntimeErrorTestSuites ?? 0);
  if (failedCount === 0 && (suiteFailures > 0 || (data.success === false && passed > 0))) {
    failures.push({ file: null, name: '(run failed)', message: suiteFailures > 0 ? `${suiteFailures} test suite(s) failed outside any test` : 'the runner reported the run as unsuccessful' });
    failedCount = 1;
  }
  const skipped = (data.numPendingTests ?? 0) + (data.numTodoTests ?? 0);
  // Failures the runner did not count as tests (files, suites) are added to its total.
  const uncounted = failedCount - (data.numFailedTests ?? 0);
  const total = Math.max(data.numTotalTests, passed + (data.numFailedTests ?? 0) + skipped) + uncounted;
  return { counts: { passed, failed: failedCount, skipped, total }, failures };
}

type XmlNode = Record<string, unknown>;

function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function testCaseName(tc: XmlNode): string {
  const name = String(tc['@name'] ?? '(unnamed)');
  const classname = tc['@classname'] === undefined ? '' : String(tc['@classname']);
  return classname && classname !== name ? `${classname} > ${name}` : name;
}

/**
 * JUnit XML (node --test's junit reporter, bun test --reporter=junit). Null when the text
 * is not a JUnit report. A todo test counts as skipped even when it fails (as both runners
 * count it); node's closing counts (`<!-- fail N -->`) add failures no test case shows.
 */
export function parseJunit(text: string): ParsedTests | null {
  if (!/<testsuites?\b/.test(text)) return null;
  let doc: XmlNode;
  try {
    doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', textNodeName: '#text', processEntities: true }).parse(text) as XmlNode;
  } catch {
    return null;
  }
  if (doc === null || typeof doc !== 'object' || (doc['testsuites'] === undefined && doc['testsuite'] === undefined)) return null;
  const counts: TestCounts = { passed: 0, failed: 0, skipped: 0, total: 0 };
  const failures: TestFailure[] = [];
  const visit = (node: XmlNode, file: string | null) => {
    if (node === null || typeof node !== 'object') return;
    for (const suite of asArray(node['testsuite'] as XmlNode | XmlNode[] | undefined)) visit(suite, (suite?.['@file'] as string | undefined) ?? file);
    for (const tc of asArray(node['testcase'] as XmlNode | XmlNode[] | undefined)) {
      if (tc === null || typeof tc !== 'object') {
        counts.total++;
        counts.passed++;
        continue;
      }
      counts.total++;
      const skipped = tc['skipped'];
      const todo = asArray(skipped as XmlNode | XmlNode[] | undefined).some((s) => s !== null && typeof s === 'object' && (s['@type'] === 'todo' || s['@message'] === 'TODO'));
      const failure = (tc['failure'] ?? tc['error']) as XmlNode | string | undefined;
      if (failure !== undefined && !todo) {
        counts.failed++;
        const f = typeof failure === 'string' ? { '#text': failure } : ((asArray(failure)[0] as XmlNode | undefined) ?? {});
        const message = plain(String(f['@message'] ?? f['#text'] ?? ''));
        failures.push({
          file: (tc['@file'] as string | undefined) ?? file,
          name: testCaseName(tc),
          message: clip(message.split('\n').slice(0, 12).join('\n')),
          ...expectedActual(String(f['#text'] ?? message)),
        });
      } else if (skipped !== undefined) counts.skipped++;
      else counts.passed++;
    }
  };
  visit(doc, null);
  for (const root of asArray(doc['testsuites'] as XmlNode | XmlNode[] | undefined)) visit(root, null);
  // node's reporter closes with its own counts; failures outside any test case (a failing hook) show only there.
  const reported = ['fail', 'cancelled'].reduce((sum, key) => sum + Number(new RegExp(`<!--\\s*${key}\\s+(\\d+)\\s*-->`).exec(text)?.[1] ?? 0), 0);
  if (counts.failed === 0 && reported > 0) {
    failures.push({ file: null, name: '(run failed)', message: `the runner counted ${reported} failed or cancelled test(s) outside any test case` });
    counts.total += reported;
    counts.failed = reported;
  }
  return { counts, failures };
}

/**
 * Reads the report a runner wrote: a regular file (not a link) in the run's own fresh
 * directory, of bounded size, that parses as the expected format. Otherwise says why not.
 */
export async function readTestReport(file: string, format: ReportFormat, maxBytes = 64 * 1024 * 1024): Promise<{ parsed: ParsedTests } | { problem: string }> {
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
    const parsed = format === 'junit' ? parseJunit(text) : parseJestJson(text);
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
