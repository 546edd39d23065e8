import { UserInputError } from '../core/errors.js';
import { parseHostName } from './http-hosts.js';

/** Parses `[HOST:]PORT` (IPv6 as `[::1]:PORT`). */
export function parseListenAddress(value: string): { host: string; port: number } {
  const match = /^(?:(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) {
    throw new UserInputError(`"${value}" is not a listen address.`, { hint: 'Use PORT or HOST:PORT, for example --http 8765 or --http 127.0.0.1:8765.' });
  }
  const host = match[1] ? match[1].replace(/^\[|\]$/g, '') : '127.0.0.1';
  return { host, port };
}

/** Parses `--allowed-hosts a.example,b.example:8443` (IPv6 in brackets). */
export function parseAllowedHosts(value: string): string[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => parseHostName(n) === null || n.includes('/'));
  if (names.length === 0 || bad.length > 0) {
    throw new UserInputError(`"${bad.join(', ') || value}" is not a list of host names.`, {
      hint: 'Use names the clients put in the Host header, comma-separated: --allowed-hosts mcp.example.com,mcp.example.com:8443 ([IPv6] in brackets; no scheme or path).',
    });
  }
  return names;
}
