import { NotFoundError } from '../core/errors.js';
import { readRunOutput } from '../core/checks/check-runner.js';
import { untrusted } from '../core/text/delimit.js';
import { defineResourceTemplate } from './define-resource.js';

const PAGE_BYTES = 32_000;
// Room for the header and markers within limits.resultBytes.
const OVERHEAD_BYTES = 2048;

export const runOutput = defineResourceTemplate({
  name: 'run_output',
  toolset: 'checks',
  uriTemplate: 'selfscope://runs/{id}',
  title: 'Output of a check run',
  description: 'The full output of one run_typecheck or run_tests run, 32 KB a page: add ?offset=N for the next page. Untrusted text.',
  mimeType: 'text/plain',
  read: async ({ app, uri, params }) => {
    // The page is a query parameter: selfscope://runs/run-x?offset=32000
    const id = (params['id'] ?? '').split('?')[0]!;
    const offset = Math.max(0, Number(uri.searchParams.get('offset') ?? 0) || 0);
    // Escaping can make a page longer: a raw page is at most half of what the result may carry.
    const block = app.config.limits.resultBytes - OVERHEAD_BYTES;
    const page = await readRunOutput(app.config.stateDirPath, id, offset, Math.min(PAGE_BYTES, Math.floor(block / 2)));
    if (!page) throw new NotFoundError(`No run ${id.slice(0, 60)}.`, { hint: 'Use the output_uri that run_typecheck or run_tests returned.' });
    const header = `# run ${id}: bytes ${offset}-${offset + Buffer.byteLength(page.text)} of ${page.total}${page.next_offset !== null ? `; next page: selfscope://runs/${id}?offset=${page.next_offset}` : ''}\n`;
    // Test output is untrusted like log text: the boundary escapes, redacts and delimits it.
    return [{ uri: uri.href, mimeType: 'text/plain', rendered: [header, untrusted(page.text, block)] }];
  },
});
