import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';

/**
 * Refuses resource URIs (and template values) that try to leave selfscope's namespace:
 * another scheme (`file:`), `..` segments in any encoding, backslashes or NUL.
 */
export function checkResourceUri(value: string): void {
  checkResourceText(value, true);
}

/**
 * The same for one value of a template variable: no traversal, backslash or NUL. A value is
 * not a URI, so `3fa2c91b0e:18234` (an event id) is not taken for a scheme.
 */
export function checkTemplateValue(value: string): void {
  checkResourceText(value, false);
}

function checkResourceText(value: string, isUri: boolean): void {
  let decoded = value;
  try {
    // Decode repeatedly so double-encoded traversal (%252e%252e) is seen too.
    for (let i = 0; i < 3; i++) {
      const next = decodeURIComponent(decoded);
      if (next === decoded) break;
      decoded = next;
    }
  } catch {
    throw new McpError(ErrorCode.InvalidParams, 'Malformed percent-encoding in the resource URI. Use a URI from resources/list or resources/templates/list.');
  }
  const lower = decoded.toLowerCase();
  const foreignScheme = isUri && /^[a-z][a-z0-9+.-]*:/.test(lower) && !lower.startsWith('selfscope://');
  if (foreignScheme || /(^|[/\\])\.\.([/\\]|$)/.test(decoded) || decoded.includes('\\') || decoded.includes('\0')) {
    throw new McpError(ErrorCode.InvalidParams, 'Refused: resource URIs must stay inside selfscope:// (no other scheme, no "..", no backslash or NUL). Use a URI from resources/list or resources/templates/list.');
  }
}
