import type { IncomingHttpHeaders } from 'node:http';
import type { ResolvedConfig, ValueSource } from '../config/load.js';
import { ConfigurationError, UserInputError } from '../core/errors.js';
import type { RenderedText } from '../core/text/delimit.js';
import type { AnyPromptDefinition, PromptMessage } from '../prompts/define-prompt.js';
import type { ResourceDefinition } from '../resources/define-resource.js';
import { TOOLSETS, type Toolset, type ToolSummary } from '../tools/define-tool.js';
import { TOOL_CATALOG } from './tool-catalog.js';
import type { RegistrationChoices, RuntimeOptions } from './app-context.js';

/**
 * The registration filters, as in github-mcp-server: what a session registers is decided
 * once, from the tools' own declarations (annotations, toolset) and the choices below.
 *
 * - `readOnly`: only tools whose `readOnlyHint` is true;
 * - `toolsets`: only the named groups (`core` always);
 * - `allowTools`: only the named tools (besides `core`'s);
 * - `denyTools`: never the named tools, whatever else says so.
 *
 * Prompts follow the tools they need (`needsTools`), resources the toolset they serve. An
 * HTTP session may narrow the server's choices with request headers, never widen them.
 */

/** A tool passes when it is not denied, fits read-only mode, and is core or selected by both lists. */
export function selectTools(tools: readonly ToolSummary[], choices: RegistrationChoices): ToolSummary[] {
  const denied = new Set(choices.denyTools ?? []);
  return tools.filter(
    (tool) =>
      !denied.has(tool.name) &&
      (!choices.readOnly || tool.annotations.readOnlyHint) &&
      (tool.toolset === 'core' ||
        ((choices.toolsets === undefined || choices.toolsets.includes(tool.toolset)) && (choices.allowTools === undefined || choices.allowTools.includes(tool.name)))),
  );
}

/** A prompt is registered only when every tool it needs is. */
export function selectPrompts(prompts: readonly AnyPromptDefinition[], registered: ReadonlySet<string>): AnyPromptDefinition[] {
  return prompts.filter((prompt) => (prompt.needsTools ?? []).every((name) => registered.has(name)));
}

/** A resource that serves a toolset is registered only when at least one tool of that toolset is. */
export function selectResources(resources: readonly ResourceDefinition[], registered: readonly ToolSummary[]): ResourceDefinition[] {
  const on = new Set(registered.map((tool) => tool.toolset));
  return resources.filter((resource) => resource.toolset === undefined || on.has(resource.toolset));
}

export interface Catalog {
  tools: readonly ToolSummary[];
  prompts: readonly AnyPromptDefinition[];
  resources: readonly ResourceDefinition[];
}

export interface RegistrationPlan {
  tools: ToolSummary[];
  prompts: AnyPromptDefinition[];
  resources: ResourceDefinition[];
  /** Names of the tools registered. */
  toolNames: ReadonlySet<string>;
}

/** Everything one session registers under `choices`. */
export function planRegistration(choices: RegistrationChoices, catalog: Catalog): RegistrationPlan {
  const tools = selectTools(catalog.tools, choices);
  const toolNames = new Set(tools.map((t) => t.name));
  return { tools, toolNames, prompts: selectPrompts(catalog.prompts, toolNames), resources: selectResources(catalog.resources, tools) };
}

/** The tools a prompt mentions that this session does not register. */
export function missingTools(prompt: AnyPromptDefinition, registered: ReadonlySet<string>): string[] {
  return [...(prompt.needsTools ?? []), ...(prompt.usesTools ?? [])].filter((name) => !registered.has(name));
}

/**
 * Adds to a rendered prompt a note naming the tools it mentions that the session lacks, so
 * the agent skips those steps instead of calling tools that are not there.
 */
export function withMissingToolsNote<R extends { description?: string; messages: PromptMessage[] }>(rendered: R, missing: readonly string[]): R {
  if (missing.length === 0 || rendered.messages.length === 0) return rendered;
  const note = `Note: this session does not have ${missing.join(', ')} (the server's read-only mode, toolsets or tool lists leave them out). Skip the steps that need them, and say in your report what you would have done.`;
  const messages = [...rendered.messages];
  const last = messages[messages.length - 1]!;
  const text: RenderedText = typeof last.text === 'string' ? [last.text, '', note] : [...last.text, '', note];
  messages[messages.length - 1] = { ...last, text };
  return { ...rendered, messages };
}

/** The toolsets a choice leaves on, `core` first (for status and narrowing). */
function withCore(toolsets: readonly Toolset[]): Toolset[] {
  return ['core' as const, ...TOOLSETS.filter((t) => t !== 'core' && toolsets.includes(t))];
}

// ---------------------------------------------------------------------------------------
// The server's own choices: configuration (`server.*`), with flags > environment > file.

const CONFIG_KEYS = {
  toolsets: { key: 'server.toolsets', flag: '--toolsets', env: 'SELFSCOPE_SERVER__TOOLSETS' },
  allowTools: { key: 'server.allowTools', flag: '--allow-tools', env: 'SELFSCOPE_SERVER__ALLOW_TOOLS' },
  denyTools: { key: 'server.denyTools', flag: '--deny-tools', env: 'SELFSCOPE_SERVER__DENY_TOOLS' },
} as const;

function origin(source: ValueSource | undefined, names: { flag: string; env: string }, configFile: string | null): string {
  if (source === 'flag') return names.flag;
  if (source === 'env') return names.env;
  return configFile ?? 'the configuration file';
}

function unknownNames(names: readonly string[], valid: readonly string[]): string[] {
  return names.filter((name) => !valid.includes(name));
}

function quoted(names: readonly string[]): string {
  return names.map((n) => JSON.stringify(n.slice(0, 64))).join(', ');
}

/**
 * The server's registration choices from the resolved configuration. A name that is not a
 * toolset or a tool is a configuration error that lists the valid names: a typo in a deny
 * list must never leave the tool it meant registered.
 */
export function choicesFromConfig(config: Pick<ResolvedConfig, 'server' | 'sources' | 'configFile'>, tools: readonly ToolSummary[] = TOOL_CATALOG): RegistrationChoices {
  const { server } = config;
  const toolNames = tools.map((t) => t.name);
  const problems: string[] = [];
  const check = (field: keyof typeof CONFIG_KEYS, names: readonly string[], valid: readonly string[], what: string) => {
    const unknown = unknownNames(names, valid);
    if (unknown.length > 0) {
      const names_ = CONFIG_KEYS[field];
      problems.push(`${names_.key} (from ${origin(config.sources[names_.key], names_, config.configFile)}): unknown ${what} ${quoted(unknown)}; valid ${what}s: ${valid.join(', ')}`);
    }
  };
  if (server.toolsets !== 'all') check('toolsets', server.toolsets, TOOLSETS, 'toolset');
  if (server.allowTools !== 'all') check('allowTools', server.allowTools, toolNames, 'tool');
  check('denyTools', server.denyTools, toolNames, 'tool');
  if (problems.length > 0) {
    throw new ConfigurationError(`Invalid configuration:\n${problems.join('\n')}`, {
      hint: 'Use names from the lists above (selfscope config shows each value and where it came from), then start again.',
      details: { issues: problems },
    });
  }
  return {
    readOnly: server.readOnly,
    toolsets: server.toolsets === 'all' ? undefined : withCore(server.toolsets as Toolset[]),
    allowTools: server.allowTools === 'all' ? undefined : [...new Set(server.allowTools)],
    denyTools: [...new Set(server.denyTools)],
  };
}

// ---------------------------------------------------------------------------------------
// Per HTTP session: headers on the initialize request narrow the server's choices.

/** The request headers a client may send with `initialize` to narrow its session. */
export const CHOICE_HEADERS = {
  readOnly: 'X-Selfscope-Read-Only',
  toolsets: 'X-Selfscope-Toolsets',
  allowTools: 'X-Selfscope-Allow-Tools',
  denyTools: 'X-Selfscope-Deny-Tools',
} as const;

/** A choice header with a value the server does not accept (answered with 400). */
export class ChoiceHeaderError extends UserInputError {}

export interface SessionChoices {
  /** What the client asked for; applied with `narrowChoices`. */
  request: Partial<RegistrationChoices>;
  /** The headers it came from, as written in CHOICE_HEADERS. */
  headers: string[];
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(',') : value;
}

function headerList(name: string, raw: string, valid: readonly string[], what: string): string[] {
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new ChoiceHeaderError(`Bad ${name} header: it is empty. Accepted: a comma-separated list of ${what}s (${valid.join(', ')}).`);
  const unknown = unknownNames(names, valid);
  if (unknown.length > 0) {
    throw new ChoiceHeaderError(`Bad ${name} header: unknown ${what} ${quoted(unknown.slice(0, 5))}. Accepted: a comma-separated list of ${what}s (${valid.join(', ')}).`);
  }
  return [...new Set(names)];
}

/**
 * The choices an initialize request's headers ask for, or undefined when it sends none.
 * Throws ChoiceHeaderError, naming what is accepted, for a value that is not understood.
 */
export function sessionChoicesFromHeaders(headers: IncomingHttpHeaders, tools: readonly ToolSummary[] = TOOL_CATALOG): SessionChoices | undefined {
  const request: Partial<RegistrationChoices> = {};
  const used: string[] = [];
  const readOnly = headerValue(headers, CHOICE_HEADERS.readOnly);
  if (readOnly !== undefined) {
    const v = readOnly.trim().toLowerCase();
    if (!['true', 'false', '1', '0'].includes(v)) throw new ChoiceHeaderError(`Bad ${CHOICE_HEADERS.readOnly} header. Accepted: true or false (false leaves the server's own choice).`);
    request.readOnly = v === 'true' || v === '1';
    used.push(CHOICE_HEADERS.readOnly);
  }
  const toolsets = headerValue(headers, CHOICE_HEADERS.toolsets);
  if (toolsets !== undefined) {
    request.toolsets = headerList(CHOICE_HEADERS.toolsets, toolsets, TOOLSETS, 'toolset') as Toolset[];
    used.push(CHOICE_HEADERS.toolsets);
  }
  const toolNames = tools.map((t) => t.name);
  const allow = headerValue(headers, CHOICE_HEADERS.allowTools);
  if (allow !== undefined) {
    request.allowTools = headerList(CHOICE_HEADERS.allowTools, allow, toolNames, 'tool');
    used.push(CHOICE_HEADERS.allowTools);
  }
  const deny = headerValue(headers, CHOICE_HEADERS.denyTools);
  if (deny !== undefined) {
    request.denyTools = headerList(CHOICE_HEADERS.denyTools, deny, toolNames, 'tool');
    used.push(CHOICE_HEADERS.denyTools);
  }
  return used.length > 0 ? { request, headers: used } : undefined;
}

/** Both lists apply: the names in both (undefined is "all"). */
function intersect<T>(server: readonly T[] | undefined, asked: readonly T[] | undefined): readonly T[] | undefined {
  if (asked === undefined) return server;
  if (server === undefined) return asked;
  return server.filter((x) => asked.includes(x));
}

/**
 * The server's choices narrowed by what a session asked for: read-only if either says so,
 * only toolsets and tools both allow, denied what either denies. Never wider than `server`.
 */
export function narrowChoices(server: RegistrationChoices, asked: Partial<RegistrationChoices>): RegistrationChoices {
  const toolsets = intersect(server.toolsets, asked.toolsets);
  return {
    readOnly: server.readOnly || asked.readOnly === true,
    toolsets: toolsets === undefined ? undefined : withCore(toolsets),
    allowTools: intersect(server.allowTools, asked.allowTools),
    denyTools: [...new Set([...(server.denyTools ?? []), ...(asked.denyTools ?? [])])],
  };
}

/** The runtime options of one HTTP session: the server's, narrowed by its headers. */
export function sessionRuntime(server: RuntimeOptions, session: SessionChoices): RuntimeOptions {
  return { ...server, ...narrowChoices(server, session.request), narrowedBy: session.headers };
}
