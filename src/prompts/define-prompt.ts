import type { z } from 'zod';
import type { AppContext } from '../server/app-context.js';

export interface PromptMessage {
  role: 'user' | 'assistant';
  text: string;
}

export interface PromptDefinition<A extends Record<string, z.ZodType<string | undefined>> = Record<string, z.ZodType<string | undefined>>> {
  name: string;
  title: string;
  description: string;
  /** Prompt arguments are strings (MCP); optional ones use `.optional()`. */
  argsSchema: A;
  /** Completions for arguments, by name. */
  complete?: Partial<Record<keyof A & string, (value: string, ctx: { app: AppContext }) => Promise<string[]>>>;
  render(args: { [K in keyof A]: z.infer<A[K]> }, ctx: { app: AppContext }): Promise<{ description?: string; messages: PromptMessage[] }>;
}

export function definePrompt<A extends Record<string, z.ZodType<string | undefined>>>(definition: PromptDefinition<A>): PromptDefinition<A> {
  return definition;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPromptDefinition = PromptDefinition<any>;
