import { levelAtLeast, type Logger, type LogLevel } from '../core/logger.js';

type Sink = (level: LogLevel, message: string, data?: Record<string, unknown>) => void;

/**
 * The process-wide diagnostics logger: writes to stderr from `stderrLevel` up and fans
 * out to every connected MCP session, which forward as `notifications/message` at the
 * level their client set. Never writes to stdout (it carries the stdio protocol).
 */
export class LogHub implements Logger {
  private readonly sinks = new Set<Sink>();

  constructor(private readonly stderrLevel: LogLevel | 'off' = 'warning') {}

  subscribe(sink: Sink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  log(level: LogLevel, message: string, data?: Record<string, unknown>): void {
    if (this.stderrLevel !== 'off' && levelAtLeast(level, this.stderrLevel)) {
      process.stderr.write(`[selfscope] ${level}: ${message}${data ? ` ${JSON.stringify(data)}` : ''}\n`);
    }
    for (const sink of this.sinks) {
      try {
        sink(level, message, data);
      } catch {
        // A closed session must not break logging for the others.
      }
    }
  }
}
