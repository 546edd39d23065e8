import { UserInputError } from '../core/errors.js';

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
