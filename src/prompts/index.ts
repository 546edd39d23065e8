import type { AnyPromptDefinition } from './define-prompt.js';
import fixAnomaly from './fix-anomaly.js';
import investigate from './investigate.js';
import selfAudit from './self-audit.js';

/** Every prompt (they show as slash commands in Claude Code). */
export const ALL_PROMPTS: readonly AnyPromptDefinition[] = [investigate, fixAnomaly, selfAudit];
