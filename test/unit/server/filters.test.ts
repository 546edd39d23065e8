import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { ConfigurationError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/logger.js';
import { ALL_PROMPTS } from '../../../src/prompts/index.js';
import { isTemplateResource } from '../../../src/resources/define-resource.js';
import { ALL_RESOURCES } from '../../../src/resources/index.js';
import { AppContext, type RegistrationChoices } from '../../../src/server/app-context.js';
import {
  ChoiceHeaderError,
  choicesFromConfig,
  missingTools,
  narrowChoices,
  planRegistration,
  selectTools,
  sessionChoicesFromHeaders,
  sessionRuntime,
  withMissingToolsNote,
} from '../../../src/server/filters.js';
import { TOOLSETS, type AnyToolDefinition, type Toolset } from '../../../src/tools/define-tool.js';
import { ALL_TOOLS } from '../../../src/tools/index.js';
import { createTempRepo, type TempRepo } from '../../helpers/temp-repo.js';

const CATALOG = { tools: ALL_TOOLS, prompts: ALL_PROMPTS, resources: ALL_RESOURCES };
const names = (tools: readonly { name: string }[]) => tools.map((t) => t.name);
const ALL: RegistrationChoices = { readOnly: false, toolsets: undefined };

const fake = (name: string, toolset: Toolset, readOnly: boolean): AnyToolDefinition => ({
  name,
  toolset,
  title: name,
  description: name,
  inputSchema: {},
  outputSchema: {},
  annotations: { readOnlyHint: readOnly, destructiveHint: !readOnly, idempotentHint: readOnly, openWorldHint: false },
  handler: async () => ({ structured: {}, text: '' }),
});
const TOOLS = [fake('status', 'core', true), fake('query', 'logs', true), fake('detect', 'anomalies', true), fake('commit', 'git', false), fake('diff', 'git', true), fake('tests', 'checks', false)];

describe('selectTools', () => {
  it('registers everything with no choices made', () => {
    expect(names(selectTools(TOOLS, ALL))).toEqual(names(TOOLS));
  });

  it('read-only keeps only read-only tools; toolsets keep the named groups and always core', () => {
    expect(names(selectTools(TOOLS, { ...ALL, readOnly: true }))).toEqual(['status', 'query', 'detect', 'diff']);
    expect(names(selectTools(TOOLS, { ...ALL, toolsets: ['git'] }))).toEqual(['status', 'commit', 'diff']);
    expect(names(selectTools(TOOLS, { readOnly: true, toolsets: ['git', 'checks'] }))).toEqual(['status', 'diff']);
  });

  it('keeps core tools through toolsets and allow lists, but not through a deny list', () => {
    expect(names(selectTools(TOOLS, { ...ALL, toolsets: [] }))).toEqual(['status']);
    expect(names(selectTools(TOOLS, { ...ALL, allowTools: ['diff'] }))).toEqual(['status', 'diff']);
    expect(names(selectTools(TOOLS, { ...ALL, denyTools: ['status'] }))).not.toContain('status');
  });

  it('applies every filter: read-only, toolsets and the allow list all have to pass', () => {
    expect(names(selectTools(TOOLS, { readOnly: true, toolsets: ['core', 'git', 'checks'], allowTools: ['commit', 'diff', 'tests', 'query'] }))).toEqual(['status', 'diff']);
  });

  it('lets a deny win over an allow', () => {
    expect(names(selectTools(TOOLS, { ...ALL, allowTools: ['commit', 'diff'], denyTools: ['commit'] }))).toEqual(['status', 'diff']);
  });
});

describe('narrowChoices', () => {
  const servers: RegistrationChoices[] = [
    ALL,
    { readOnly: true, toolsets: undefined },
    { readOnly: false, toolsets: ['core', 'logs', 'git'] },
    { readOnly: false, toolsets: undefined, allowTools: ['commit', 'query'], denyTools: ['diff'] },
  ];
  const asks: Array<Partial<RegistrationChoices>> = [
    {},
    { readOnly: false },
    { readOnly: true },
    { toolsets: ['git', 'checks'] },
    { toolsets: ['core'] },
    { allowTools: ['commit', 'diff', 'tests'] },
    { denyTools: ['query'] },
    { readOnly: false, toolsets: [...TOOLSETS], allowTools: names(TOOLS) },
  ];

  it('never registers a tool the server alone would not (any server, any request)', () => {
    for (const server of servers) {
      const allowed = new Set(names(selectTools(TOOLS, server)));
      for (const ask of asks) {
        const narrowed = names(selectTools(TOOLS, narrowChoices(server, ask)));
        for (const name of narrowed) expect(allowed.has(name), `${name} with ${JSON.stringify(server)} narrowed by ${JSON.stringify(ask)}`).toBe(true);
      }
    }
  });

  it('keeps a read-only server read-only when asked for false', () => {
    expect(narrowChoices({ readOnly: true, toolsets: undefined }, { readOnly: false }).readOnly).toBe(true);
    expect(narrowChoices(ALL, { readOnly: true }).readOnly).toBe(true);
  });

  it('intersects toolsets and allow lists, unites deny lists', () => {
    expect(narrowChoices({ readOnly: false, toolsets: ['core', 'logs', 'git'] }, { toolsets: ['git', 'checks'] }).toolsets).toEqual(['core', 'git']);
    expect(narrowChoices({ readOnly: false, toolsets: ['core', 'logs'] }, { toolsets: ['checks'] }).toolsets).toEqual(['core']);
    expect(narrowChoices(ALL, { toolsets: ['logs'] }).toolsets).toEqual(['core', 'logs']);
    expect(narrowChoices({ ...ALL, allowTools: ['commit', 'query'] }, { allowTools: ['commit', 'diff'] }).allowTools).toEqual(['commit']);
    expect(narrowChoices({ ...ALL, denyTools: ['diff'] }, { denyTools: ['query'] }).denyTools).toEqual(['diff', 'query']);
  });

  it('keeps a tool the server denies denied, even when a session allows it by name', () => {
    const narrowed = narrowChoices({ ...ALL, denyTools: ['commit'] }, { allowTools: ['commit', 'diff'] });
    expect(names(selectTools(TOOLS, narrowed))).toEqual(['status', 'diff']);
  });

  it('records which headers narrowed a session', () => {
    const runtime = sessionRuntime({ transport: 'http', readOnly: false, toolsets: undefined }, { request: { toolsets: ['logs'] }, headers: ['X-Selfscope-Toolsets'] });
    expect(runtime).toMatchObject({ transport: 'http', toolsets: ['core', 'logs'], narrowedBy: ['X-Selfscope-Toolsets'] });
  });
});

describe('sessionChoicesFromHeaders', () => {
  it('is undefined without choice headers', () => {
    expect(sessionChoicesFromHeaders({ authorization: 'Bearer x', 'content-type': 'application/json' })).toBeUndefined();
  });

  it('reads every choice header (names as Node gives them, lower case)', () => {
    const choices = sessionChoicesFromHeaders({
      'x-selfscope-read-only': 'TRUE',
      'x-selfscope-toolsets': 'logs, anomalies',
      'x-selfscope-allow-tools': 'query_runtime_logs,detect_anomalies',
      'x-selfscope-deny-tools': 'git_pr_merge',
    });
    expect(choices).toEqual({
      request: { readOnly: true, toolsets: ['logs', 'anomalies'], allowTools: ['query_runtime_logs', 'detect_anomalies'], denyTools: ['git_pr_merge'] },
      headers: ['X-Selfscope-Read-Only', 'X-Selfscope-Toolsets', 'X-Selfscope-Allow-Tools', 'X-Selfscope-Deny-Tools'],
    });
    expect(sessionChoicesFromHeaders({ 'x-selfscope-read-only': '0' })?.request).toEqual({ readOnly: false });
  });

  it.each([
    ['x-selfscope-read-only', 'yes', /X-Selfscope-Read-Only.*Accepted: true or false/],
    ['x-selfscope-toolsets', 'logs,gitt', /unknown toolset "gitt".*Accepted: a comma-separated list of toolsets \(core, logs, anomalies, checks, git\)/],
    ['x-selfscope-toolsets', ' , ', /X-Selfscope-Toolsets header: it is empty/],
    ['x-selfscope-deny-tools', 'git_pr_merg', /unknown tool "git_pr_merg".*git_pr_merge/],
    ['x-selfscope-allow-tools', 'all', /unknown tool "all"/],
  ])('refuses %s: %j, saying what is accepted', (header, value, message) => {
    let error: unknown;
    try {
      sessionChoicesFromHeaders({ [header]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ChoiceHeaderError);
    expect((error as Error).message).toMatch(message);
  });
});

describe('choicesFromConfig', () => {
  let repo: TempRepo;
  const env = (extra: Record<string, string> = {}) => ({ XDG_STATE_HOME: process.env['XDG_STATE_HOME'] ?? '', ...extra });

  beforeAll(async () => {
    repo = await createTempRepo();
  });
  afterAll(async () => {
    await repo.cleanup();
  });

  async function writeFile(server: unknown): Promise<void> {
    await fs.writeFile(path.join(repo.dir, 'selfscope.config.json'), JSON.stringify({ server }));
  }

  it('defaults to everything', async () => {
    await fs.rm(path.join(repo.dir, 'selfscope.config.json'), { force: true });
    const config = await loadConfig({ cwd: repo.dir, env: env() });
    expect(choicesFromConfig(config)).toEqual({ readOnly: false, toolsets: undefined, allowTools: undefined, denyTools: [] });
    expect(config.sources['server.readOnly']).toBe('default');
  });

  it('takes flags over the environment over the file, key by key', async () => {
    await writeFile({ readOnly: false, toolsets: ['logs'], allowTools: ['query_runtime_logs'], denyTools: ['git_commit'] });
    const config = await loadConfig({
      cwd: repo.dir,
      env: env({ SELFSCOPE_SERVER__READ_ONLY: 'true', SELFSCOPE_SERVER__TOOLSETS: 'logs,anomalies', SELFSCOPE_SERVER__ALLOW_TOOLS: 'all' }),
      flags: { server: { toolsets: ['git'] } },
    });
    expect(choicesFromConfig(config)).toEqual({ readOnly: true, toolsets: ['core', 'git'], allowTools: undefined, denyTools: ['git_commit'] });
    expect([config.sources['server.toolsets'], config.sources['server.readOnly'], config.sources['server.allowTools'], config.sources['server.denyTools']]).toEqual(['flag', 'env', 'env', 'file']);
  });

  it('reads comma lists from the environment', async () => {
    await fs.rm(path.join(repo.dir, 'selfscope.config.json'), { force: true });
    const config = await loadConfig({ cwd: repo.dir, env: env({ SELFSCOPE_SERVER__TOOLSETS: 'logs,anomalies', SELFSCOPE_SERVER__DENY_TOOLS: 'git_pr_merge' }) });
    expect(choicesFromConfig(config)).toMatchObject({ toolsets: ['core', 'logs', 'anomalies'], denyTools: ['git_pr_merge'] });
  });

  it('refuses an unknown tool name, naming where it came from and the valid names', async () => {
    const config = await loadConfig({ cwd: repo.dir, env: env({ SELFSCOPE_SERVER__DENY_TOOLS: 'git_pr_merg' }) });
    expect(() => choicesFromConfig(config)).toThrow(ConfigurationError);
    expect(() => choicesFromConfig(config)).toThrow(/server\.denyTools \(from SELFSCOPE_SERVER__DENY_TOOLS\): unknown tool "git_pr_merg"; valid tools: .*git_pr_merge/);
  });

  it('refuses an unknown toolset in the file, naming the file', async () => {
    await writeFile({ toolsets: ['logs', 'github'] });
    const config = await loadConfig({ cwd: repo.dir, env: env() });
    expect(() => choicesFromConfig(config)).toThrow(new RegExp(`server\\.toolsets \\(from ${config.configFile!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\): unknown toolset "github"; valid toolsets: core, logs, anomalies, checks, git`));
  });

  it('refuses an unknown name given as a flag', async () => {
    await fs.rm(path.join(repo.dir, 'selfscope.config.json'), { force: true });
    const config = await loadConfig({ cwd: repo.dir, env: env(), flags: { server: { allowTools: ['query_logs'] } } });
    expect(() => choicesFromConfig(config)).toThrow(/server\.allowTools \(from --allow-tools\): unknown tool "query_logs"/);
  });
});

describe('prompts and resources follow the tools', () => {
  it('declares only real tool names and toolsets', () => {
    const toolNames = new Set(names(ALL_TOOLS));
    for (const prompt of ALL_PROMPTS) {
      for (const name of [...(prompt.needsTools ?? []), ...(prompt.usesTools ?? [])]) expect(toolNames.has(name), `${prompt.name} names ${name}`).toBe(true);
    }
    for (const resource of ALL_RESOURCES) if (resource.toolset) expect(TOOLSETS).toContain(resource.toolset);
  });

  it('registers everything, with nothing missing, when no choice is made', () => {
    const plan = planRegistration(ALL, CATALOG);
    expect(names(plan.tools)).toEqual(names(ALL_TOOLS));
    expect(names(plan.prompts)).toEqual(names(ALL_PROMPTS));
    expect(names(plan.resources)).toEqual(names(ALL_RESOURCES));
    for (const prompt of plan.prompts) expect(missingTools(prompt, plan.toolNames)).toEqual([]);
  });

  it('drops fix_anomaly and the check-run output in read-only mode; investigate stays, told what it lacks', () => {
    const plan = planRegistration({ readOnly: true, toolsets: undefined }, CATALOG);
    expect(plan.tools.every((t) => t.annotations.readOnlyHint)).toBe(true);
    expect(names(plan.prompts)).toEqual(['investigate', 'self_audit']);
    expect(plan.resources.map((r) => (isTemplateResource(r) ? r.uriTemplate : r.uri))).not.toContain('selfscope://runs/{id}');
    expect(names(plan.resources)).toContain('anomalies_open');
    const investigate = plan.prompts.find((p) => p.name === 'investigate')!;
    expect(missingTools(investigate, plan.toolNames)).toEqual(['git_branch_create', 'run_typecheck', 'run_tests', 'git_commit', 'git_pr_create']);
  });

  it('keeps only the logs toolset\'s resources and the prompts it can serve with toolsets logs', () => {
    const plan = planRegistration({ readOnly: false, toolsets: ['core', 'logs'] }, CATALOG);
    expect(new Set(plan.tools.map((t) => t.toolset))).toEqual(new Set(['core', 'logs']));
    expect(new Set(plan.resources.map((r) => r.toolset))).toEqual(new Set(['logs']));
    expect(names(plan.prompts)).toEqual(['self_audit']);
  });

  it('drops a prompt when one tool it needs is denied', () => {
    expect(names(planRegistration({ ...ALL, denyTools: ['git_commit'] }, CATALOG).prompts)).not.toContain('fix_anomaly');
  });

  it('adds a note naming the missing tools to the last message, and nothing when none is missing', () => {
    const rendered = { messages: [{ role: 'user' as const, text: ['Steps', { untrusted: 'evidence' }] }] };
    expect(withMissingToolsNote(rendered, [])).toBe(rendered);
    const noted = withMissingToolsNote(rendered, ['git_commit', 'run_tests']);
    expect(noted.messages[0]!.text).toEqual(['Steps', { untrusted: 'evidence' }, '', expect.stringMatching(/^Note: this session does not have git_commit, run_tests /)]);
    expect(withMissingToolsNote({ messages: [{ role: 'user' as const, text: 'plain' }] }, ['git_log']).messages[0]!.text).toEqual(['plain', '', expect.stringContaining('git_log')]);
  });
});

describe('AppContext.forSession', () => {
  it('shares engines with the process and never closes them', async () => {
    const repo = await createTempRepo();
    try {
      const config = await loadConfig({ cwd: repo.dir, env: { XDG_STATE_HOME: process.env['XDG_STATE_HOME'] ?? '' } });
      const root = new AppContext(config, silentLogger, { transport: 'http', readOnly: false, toolsets: undefined }, repo.dir);
      const view = root.forSession({ transport: 'http', readOnly: true, toolsets: ['core'], narrowedBy: ['X-Selfscope-Read-Only'] });
      let disposed = 0;
      const engine = await view.service('engine', async () => ({ id: 1 }), async () => void (disposed += 1));
      expect(await root.service('engine', async () => ({ id: 2 }))).toBe(engine);
      expect(view.runtime.readOnly).toBe(true);
      expect(root.runtime.readOnly).toBe(false);
      await view.close();
      expect(disposed).toBe(0);
      expect(await view.service('engine', async () => ({ id: 3 }))).toBe(engine);
      await root.close();
      expect(disposed).toBe(1);
    } finally {
      await repo.cleanup();
    }
  });
});
