import type { z } from 'zod';
import type { AppContext } from '../server/app-context.js';
import type { RenderedText } from '../core/text/delimit.js';

export interface PromptMessage {
  role: 'user' | 'assistant';
  /** Authored text, with evidence from the logs in `untrusted(...)` parts (the boundary delimits them). */
  text: RenderedText;
}

export interface PromptDefinition<A extends Record<string, z.ZodType<string | undefined>> = Record<string, z.ZodType<string | undefined>>> {
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
  complete?: Partial<Record<keyof A & string, (value: string, ctx: { app: AppContext }) => Promise<string[]>>>;
  render(args: { [K in keyof A]: z.infer<A[K]> }, ctx: { app: AppContext }): Promise<{ description?: string; messages: PromptMessage[] }>;
}

export function definePrompt<A extends Record<string, z.ZodType<string | undefined>>>(definition: PromptDefinition<A>): PromptDefinition<A> {
  return definition;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPromptDefinition = PromptDefinition<any>;
