import type { AnyPromptDefinition } from './define-prompt.js';

/** Every prompt (they show as slash commands in Claude Code). */
export const ALL_PROMPTS: readonly AnyPromptDefinition[] = [];
