import type { z } from 'zod';
import type { AppContext } from '../server/app-context.js';
import type { RenderedText } from '../core/text/delimit.js';

export interface PromptMessage {
  role: 'user' | 'assistant';
  /** Authored text, with evidence from the logs in `untrusted(...)` parts (the boundary delimits them). */
  text: RenderedText;
}

type ArgsShape = Record<string, z.ZodType<string | undefined>>;

export type PromptArgs<A extends ArgsShape> = { [K in keyof A]: z.infer<A[K]> };
export type PromptRender<A extends ArgsShape> = (args: PromptArgs<A>, ctx: { app: AppContext }) => Promise<{ description?: string; messages: PromptMessage[] }>;
export type PromptCompleters<A extends ArgsShape> = Partial<Record<keyof A & string, (value: string, ctx: { app: AppContext }) => Promise<string[]>>>;

/** What a prompt's module (`handlers/<prompt-file>.ts`) exports: its rendering, and completions. */
export interface PromptHandlers<A extends ArgsShape> {
  render: PromptRender<A>;
  complete?: PromptCompleters<A>;
}

export interface PromptDefinition<A extends ArgsShape = ArgsShape> {
  name: string;
  title: string;
  description: string;
  /** Prompt arguments are strings (MCP); optional ones use `.optional()`. */
  argsSchema: A;
  /**
   * Tools the prompt tells the agent to call and cannot do without: it is registered only in
   * sessions that register every one of them (read-only mode drops a prompt that needs git_commit).
   */
  needsTools?: readonly string[];
  /** Tools it mentions but can do without: a session lacking some gets a note naming them. */
  usesTools?: readonly string[];
  /** Completions for arguments, by name. */
  complete?: PromptCompleters<A>;
  render: PromptRender<A>;
}

/**
 * A prompt file declares the prompt and names the module of its work:
 * `load: () => import('./handlers/<prompt-file>.js')`, loaded on the first get or completion,
 * not when a client lists prompts. `completes` names the arguments its module completes
 * (registered before the module is loaded).
 */
export interface LazyPromptDefinition<A extends ArgsShape> extends Omit<PromptDefinition<A>, 'complete' | 'render'> {
  completes?: ReadonlyArray<keyof A & string>;
  load(): Promise<PromptHandlers<A>>;
}

export function definePrompt<A extends ArgsShape>(definition: LazyPromptDefinition<A>): PromptDefinition<A> {
  const { load, completes, ...spec } = definition;
  let loading: Promise<PromptHandlers<A>> | null = null;
  // Loads once; a failed load is tried again on the next use.
  const handlers = () =>
    (loading ??= load().catch((error: unknown) => {
      loading = null;
      throw error;
    }));
  const complete: PromptCompleters<A> = {};
  for (const name of completes ?? []) {
    complete[name] = async (value, ctx) => {
      const completer = (await handlers()).complete?.[name];
      if (!completer) throw new Error(`Prompt ${spec.name} declares completion of ${name} but its module has none.`);
      return completer(value, ctx);
    };
  }
  return { ...spec, ...(completes?.length ? { complete } : {}), render: async (args, ctx) => (await handlers()).render(args, ctx) };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPromptDefinition = PromptDefinition<any>;
