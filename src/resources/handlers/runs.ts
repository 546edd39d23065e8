import { NotFoundError } from '../../core/errors.js';
import { readRunOutput } from '../../core/checks/check-runner.js';
import { readRunFailures } from '../../core/checks/test-outcomes.js';
import { untrusted } from '../../core/text/delimit.js';
import { getBackgroundRuns } from '../../server/background-runs.js';
import type { TemplateResourceHandlers } from '../define-resource.js';

const PAGE_BYTES = 32_000;
// Room for the header and markers within limits.resultBytes.
const OVERHEAD_BYTES = 2048;
// The result summary of a followed run, on its first page.
const SUMMARY_BYTES = 6000;
const FAILURES_PAGE = 10;

export const runOutput: TemplateResourceHandlers = {
  read: async ({ app, uri, params }) => {
    // The page is a query parameter: selfscope://runs/run-x?offset=32000
    const id = (params['id'] ?? '').split('?')[0]!;
    const offset = Math.max(0, Number(uri.searchParams.get('offset') ?? 0) || 0);
    if (uri.searchParams.get('view') === 'failures') {
      const page = await readRunFailures(app.config.stateDirPath, id, Math.floor(offset), FAILURES_PAGE);
      if (!page) throw new NotFoundError(`No failures kept for run ${id.slice(0, 60)}.`, { hint: 'Use the failures_uri that run_tests returned (a typecheck run has none).' });
      const next = page.next_offset !== null ? `selfscope://runs/${id}?view=failures&offset=${page.next_offset}` : null;
      return [{ uri: uri.href, json: { ...page, next_page: next } }];
    }
    // A run the server follows (a call may have returned before it ended): running, or finished with its result.
    const followed = app.hasService('backgroundRuns') ? (await getBackgroundRuns(app)).get(id) : null;
    if (followed && followed.status !== 'finished') {
      const since = `${followed.check}, started ${followed.started_at}`;
      const head = followed.status === 'running' ? `# run ${id}: status running (${since}); read this again for its result\n` : `# run ${id}: status failed (${since}): the run could not be done\n`;
      return [{ uri: uri.href, mimeType: 'text/plain', rendered: [head, ...(followed.error ? [untrusted(followed.error, 2000)] : [])] }];
    }
    const summary = followed?.summary && offset === 0 ? followed.summary : null;
    // Escaping can make a page longer: a raw page is at most half of what the result may carry.
    const block = app.config.limits.resultBytes - OVERHEAD_BYTES - (summary ? 2 * SUMMARY_BYTES : 0);
    const page = await readRunOutput(app.config.stateDirPath, id, offset, Math.max(1000, Math.min(PAGE_BYTES, Math.floor(block / 2))));
    if (!page) throw new NotFoundError(`No run ${id.slice(0, 60)}.`, { hint: 'Use the output_uri that run_typecheck or run_tests returned.' });
    const header = `# run ${id}: bytes ${offset}-${offset + Buffer.byteLength(page.text)} of ${page.total}${page.next_offset !== null ? `; next page: selfscope://runs/${id}?offset=${page.next_offset}` : ''}\n`;
    // Test output is untrusted like log text: the boundary escapes, redacts and delimits it.
    const status = followed ? [`# run ${id}: status finished, ${followed.ok ? 'PASSED' : 'NOT OK'} (${followed.check}, ${followed.started_at} to ${followed.finished_at})\n`, ...(summary ? [untrusted(summary, SUMMARY_BYTES), '\n'] : [])] : [];
    return [{ uri: uri.href, mimeType: 'text/plain', rendered: [...status, header, untrusted(page.text, Math.max(2000, block))] }];
  },
};
