import { XMLParser } from 'fast-xml-parser';

/** Parsers of machine-readable check output: jest/vitest JSON, JUnit XML, tsc diagnostics. */

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
  testResults?: Array<{
    name?: string;
    message?: string;
    status?: string;
    assertionResults?: Array<{ fullName?: string; title?: string; status?: string; failureMessages?: string[]; location?: { line?: number; column?: number } | null }>;
  }>;
}

/** vitest's and jest's JSON reporter (the same shape). */
export function parseJestJson(text: string): ParsedTests | null {
  let data: JestJson;
  try {
    data = JSON.parse(text) as JestJson;
  } catch {
    return null;
  }
  const failures: TestFailure[] = [];
  for (const file of data.testResults ?? []) {
    const failed = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
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
    // A file that failed to load has no assertions but is a failure.
    if (failed.length === 0 && file.status === 'failed' && file.message) {
      failures.push({ file: file.name ?? null, name: '(file failed to run)', message: clip(plain(file.message)) });
    }
  }
  const loadFailures = failures.filter((f) => f.name === '(file failed to run)').length;
  const passed = data.numPassedTests ?? 0;
  const failedCount = (data.numFailedTests ?? 0) + loadFailures;
  const skipped = (data.numPendingTests ?? 0) + (data.numTodoTests ?? 0);
  return { counts: { passed, failed: failedCount, skipped, total: (data.numTotalTests ?? passed + failedCount + skipped) + loadFailures }, failures };
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

/** JUnit XML (node --test's junit reporter, bun test --reporter=junit). */
export function parseJunit(text: string): ParsedTests | null {
  let doc: XmlNode;
  try {
    doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', textNodeName: '#text', processEntities: true }).parse(text) as XmlNode;
  } catch {
    return null;
  }
  const counts: TestCounts = { passed: 0, failed: 0, skipped: 0, total: 0 };
  const failures: TestFailure[] = [];
  const visit = (node: XmlNode, file: string | null) => {
    for (const suite of asArray(node['testsuite'] as XmlNode | XmlNode[] | undefined)) visit(suite, (suite['@file'] as string | undefined) ?? file);
    for (const tc of asArray(node['testcase'] as XmlNode | XmlNode[] | undefined)) {
      counts.total++;
      const failure = (tc['failure'] ?? tc['error']) as XmlNode | string | undefined;
      if (failure !== undefined) {
        counts.failed++;
        const f = typeof failure === 'string' ? { '#text': failure } : (asArray(failure)[0] as XmlNode);
        const message = plain(String(f['@message'] ?? f['#text'] ?? ''));
        failures.push({
          file: (tc['@file'] as string | undefined) ?? file,
          name: testCaseName(tc),
          message: clip(message.split('\n').slice(0, 12).join('\n')),
          ...expectedActual(String(f['#text'] ?? message)),
        });
      } else if (tc['skipped'] !== undefined) counts.skipped++;
      else counts.passed++;
    }
  };
  visit(doc, null);
  for (const root of asArray(doc['testsuites'] as XmlNode | XmlNode[] | undefined)) visit(root, null);
  if (counts.total === 0 && !/<testsuites?\b/.test(text)) return null;
  return { counts, failures };
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
