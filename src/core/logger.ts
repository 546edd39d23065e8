/**
 * Diagnostics from the engines. The server sends them to MCP clients as log
 * notifications (at the level each client sets) and to stderr; never to stdout.
 */
export type LogLevel = 'debug' | 'info' | 'notice' | 'warning' | 'error' | 'critical' | 'alert' | 'emergency';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

export interface Logger {
  log(level: LogLevel, message: string, data?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { log: () => {} };

export function levelAtLeast(level: LogLevel, threshold: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(threshold);
}
