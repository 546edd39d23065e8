// The anchor for the start-up figure: the smallest MCP server the SDK makes (one tool, stdio).
// bench/startup.mjs starts it beside selfscope, so the ratio holds on a busy machine.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'anchor', version: '0.0.0' });
server.registerTool(
  'echo',
  { description: 'Returns its input.', inputSchema: { text: z.string() }, outputSchema: { text: z.string() } },
  async ({ text }) => ({ content: [{ type: 'text', text }], structuredContent: { text } }),
);
await server.connect(new StdioServerTransport());
