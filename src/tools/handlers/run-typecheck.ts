import { checkOutputSchema } from '../_check-schemas.js';
import { runCheckTool } from './_checks.js';
import { followCheck } from './_follow-check.js';
import type { ToolHandler } from '../define-tool.js';
import type { inputSchema, outputSchema } from '../run-typecheck.js';

export const handler: ToolHandler<typeof inputSchema, typeof outputSchema> = (input, ctx) => followCheck('typecheck', input, ctx, runCheckTool, checkOutputSchema);

