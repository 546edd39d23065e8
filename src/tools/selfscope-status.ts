import { z } from 'zod';
import { defineTool } from './define-tool.js';
import { freshnessSchema } from './_shared.js';

const logFile = z.object({
  path: z.string(),
  bytes: z.number(),
  modified: z.string(),
});

const runSummary = z.object({ id: z.string(), ok: z.boolean(), finished_at: z.string(), command: z.array(z.string()) });



export const inputSchema = {};

export const outputSchema = {
  version: z.string(),
  repository: z.object({ root: z.string(), worktree: z.string(), branch: z.string().nullable() }),
  configuration: z.object({
    file: z.string().nullable(),
    logs: z.array(z.string()),
    read_only: z.boolean(),
    toolsets: z.array(z.string()),
    transport: z.string(),
  }),
  log_files: z.array(logFile).describe('the first 50 log files found'),
  log_files_total: z.number().describe('log files found (all of them, listed or not)'),
  log_files_total_bytes: z.number(),
  log_files_skipped: z
    .array(z.object({ path: z.string(), reason: z.enum(['outside_repository', 'outside_named_directory']), resolves_to: z.string() }))
    .describe('Matches not read: symlinks whose real path leaves the repository (or the outside directory a glob names).'),
  state_dir: z.object({ path: z.string(), exists: z.boolean() }),
  private_dir: z.string().describe('keys, signed records and the audit log: outside the repository, read only by the server'),
  index: z.object({
    file: z.string(),
    freshness: freshnessSchema,
    files: z.array(
      z.object({
        path: z.string(),
        lines: z.number(),
        bad_lines: z.number(),
        bad_by_reason: z.record(z.string(), z.number()),
        first_bad_offsets: z.array(z.number()),
        cut_lines: z.number(),
        coerced_lines: z.number(),
        live: z.boolean(),
      }),
    ),
  }),
  verification: z.object({
    worktree: z.string(),
    tree: z.string().nullable(),
    verified: z.boolean(),
    missing: z.array(z.string()),
    typecheck: runSummary.nullable(),
    test: runSummary.nullable(),
    commands: z.object({ typecheck: z.string(), test: z.string() }),
    gate: z
      .object({
        mode: z.enum(['strict', 'no_new_failures']).describe('checks.gate'),
        reason: z.string().describe('what git_commit needs of the tests, and why this mode'),
        base: z.object({ branch: z.string(), commit: z.string(), tree: z.string(), run: z.string().nullable().describe('the recorded full run of the base tree, if any'), failing: z.number().nullable() }).nullable(),
      })
      .describe('the commit gate that applies to this worktree'),
  }),
  sandbox: z
    .object({
      mode: z.enum(['bwrap', 'off']).describe('checks.sandbox'),
      available: z.boolean().describe('whether bwrap can start here'),
      reason: z.string().nullable().describe('why it cannot'),
      network: z.boolean().describe('whether checks reach the network'),
      unsandboxed: z.string().nullable().describe('what checks run without, when they are not sandboxed'),
    })
    .describe('the sandbox typecheck and test runs execute in'),
  autonomy: z.array(z.string()),
};

export default defineTool({
  name: 'selfscope_status',
  toolset: 'core',
  title: 'selfscope status',
  description:
    'What this selfscope server sees: version, repository and worktree, the configuration in force, the log files found (with sizes), the state directory, and the autonomy boundary. Call it first when something looks misconfigured.',
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  load: () => import('./handlers/selfscope-status.js'),
});
