import { describe, expect, it } from 'vitest';
import { decodeXmlEntities, parseJestJson, parseJunit, stackLocation } from '../../../src/core/checks/parse-results.js';

/** Failures an agent can act on: decoded messages, expected/actual, file and line, every test's outcome. */

// As bun test --reporter=junit writes it (bun 1.3): numeric entities in attributes and text.
const BUN = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="bun test" tests="5" assertions="2" failures="2" skipped="2" time="0.15">
  <testsuite name="tests/a.test.ts" file="tests/a.test.ts" tests="5" assertions="2" failures="2" skipped="2" time="0.04" hostname="vm">
    <testsuite name="queue" file="tests/a.test.ts" line="2" tests="4" assertions="2" failures="1" skipped="2" time="0.011" hostname="vm">
      <testcase name="adds" classname="queue" time="0.000034" file="tests/a.test.ts" line="3" assertions="1" />
      <testcase name="keeps &lt;&amp;&gt; &quot;order&quot;" classname="queue" time="0.01" file="tests/a.test.ts" line="4" assertions="1">
        <failure type="AssertionError" message="expect(received).toBe(expected)&#10;&#10;Expected: 3&#10;Received: 2&#10;">AssertionError: expect(received).toBe(expected)&#10;&#10;Expected: 3&#10;Received: 2&#10;&#10;      at tests/a.test.ts:4:68&#10;</failure>
      </testcase>
      <testcase name="skipped" classname="queue" time="0" file="tests/a.test.ts" line="5" assertions="0"><skipped /></testcase>
      <testcase name="todo one" classname="queue" time="0" file="tests/a.test.ts" line="6" assertions="0"><skipped message="TODO" /></testcase>
    </testsuite>
    <testcase name="equals" classname="" time="0.0002" file="tests/a.test.ts" line="8" assertions="0">
      <failure type="AssertionError" message="expect(received).toEqual(expected)&#10;&#10;  {&#10;-   &quot;a&quot;: 2,&#10;+   &quot;a&quot;: 1,&#10;  }&#10;&#10;- Expected  - 1&#10;+ Received  + 1&#10;">AssertionError: expect(received).toEqual(expected)&#10;&#10;  {&#10;-   &quot;a&quot;: 2,&#10;+   &quot;a&quot;: 1,&#10;  }&#10;&#10;- Expected  - 1&#10;+ Received  + 1&#10;&#10;      at tests/a.test.ts:8:59&#10;</failure>
    </testcase>
  </testsuite>
</testsuites>`;

// As node --test's junit reporter writes it (node 20): no file attribute, the location only in the stack.
const NODE = `<?xml version="1.0" encoding="utf-8"?>
<testsuites>
	<testsuite name="queue" time="0.02" disabled="0" errors="0" tests="2" failures="1" skipped="0" hostname="vm">
		<testcase name="adds" time="0.01" classname="test"/>
		<testcase name="breaks" time="0.0015" classname="test" failure="Expected values to be strictly equal:1 !== 2">
			<failure type="testCodeFailure" message="Expected values to be strictly equal:1 !== 2">
Error [ERR_TEST_FAILURE]: Expected values to be strictly equal:

1 !== 2

  cause: AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:
      at TestContext.&lt;anonymous> (file:///work/bot/test/a.test.mjs:5:31)
      at Test.runInAsyncScope (node:async_hooks:206:9) {
    generatedMessage: true,
    code: 'ERR_ASSERTION',
    actual: 1,
    expected: 2,
    operator: 'strictEqual'
  }
}
			</failure>
		</testcase>
	</testsuite>
</testsuites>`;

describe('JUnit reports', () => {
  it('decodes every XML entity once, numeric ones too', () => {
    expect(decodeXmlEntities('a&#10;b &#x41;&#65; &lt;&gt;&amp;&quot;&apos; &amp;#10; &#xD800; &bogus;')).toBe(`a\nb AA <>&"' &#10; &#xD800; &bogus;`);
  });

  it("bun: names with their describe blocks, decoded messages, expected/actual, file and line, every test's outcome", () => {
    const parsed = parseJunit(BUN)!;
    expect(parsed.counts).toEqual({ passed: 1, failed: 2, skipped: 2, total: 5 });
    expect(parsed.outcomes).toEqual([
      { id: 'tests/a.test.ts :: queue > adds', status: 'passed' },
      { id: 'tests/a.test.ts :: queue > keeps <&> "order"', status: 'failed' },
      { id: 'tests/a.test.ts :: queue > skipped', status: 'skipped' },
      { id: 'tests/a.test.ts :: queue > todo one', status: 'skipped' },
      { id: 'tests/a.test.ts :: equals', status: 'failed' },
    ]);
    const [toBe, toEqual] = parsed.failures;
    expect(toBe).toMatchObject({ file: 'tests/a.test.ts', name: 'queue > keeps <&> "order"', expected: '3', actual: '2', location: 'tests/a.test.ts:4', line: 4 });
    expect(toBe!.message).toBe('expect(received).toBe(expected)\n\nExpected: 3\nReceived: 2\n');
    expect(toBe!.message).not.toMatch(/&#/);
    expect(toEqual).toMatchObject({ expected: '"a": 2,', actual: '"a": 1,', location: 'tests/a.test.ts:8' });
  });

  it('node --test: suite names, expected/actual from the assertion, the location from the stack, relative to the worktree', () => {
    const parsed = parseJunit(NODE, '/work/bot')!;
    expect(parsed.outcomes.map((o) => o.id)).toEqual([' :: queue > adds', ' :: queue > breaks']);
    expect(parsed.failures[0]).toMatchObject({ file: null, name: 'queue > breaks', expected: '2', actual: '1', location: 'test/a.test.mjs:5:31', line: 5 });
  });
});

describe('vitest and jest JSON reports', () => {
  const report = {
    numTotalTests: 2,
    numPassedTests: 1,
    numFailedTests: 1,
    testResults: [
      {
        name: '/work/bot/test/q.test.ts',
        status: 'failed',
        assertionResults: [
          { fullName: 'queue adds', title: 'adds', status: 'passed', failureMessages: [] },
          { fullName: 'queue keeps order', title: 'keeps order', status: 'failed', failureMessages: ['AssertionError: expected 1 to be 2 // Object.is equality\n    at /work/bot/node_modules/@vitest/x.js:1:1\n    at /work/bot/test/q.test.ts:7:13'] },
        ],
      },
    ],
  };

  it('gives file paths relative to the worktree, the location from the stack (not node_modules), and outcomes', () => {
    const parsed = parseJestJson(JSON.stringify(report), '/work/bot')!;
    expect(parsed.outcomes).toEqual([
      { id: 'test/q.test.ts :: queue adds', status: 'passed' },
      { id: 'test/q.test.ts :: queue keeps order', status: 'failed' },
    ]);
    expect(parsed.failures[0]).toMatchObject({ file: 'test/q.test.ts', expected: '2', actual: '1', location: 'test/q.test.ts:7:13', line: 7 });
  });

  it('takes a diff (toEqual) as expected and actual', () => {
    const message = 'AssertionError: expected { a: 1 } to deeply equal { a: 2 }\n\n- Expected\n+ Received\n\n  {\n-   "a": 2,\n+   "a": 1,\n  }\n\n    at /w/t.test.ts:3:1';
    const withDiff = { ...report, testResults: [{ ...report.testResults[0]!, assertionResults: [{ fullName: 'eq', status: 'failed', failureMessages: [message.replace('to deeply equal', 'to match')] }] }] };
    expect(parseJestJson(JSON.stringify(withDiff))!.failures[0]).toMatchObject({ expected: '"a": 2,', actual: '"a": 1,' });
  });

  it('finds no location where the stack has none', () => {
    expect(stackLocation('Error: boom', null)).toBeNull();
  });
});
