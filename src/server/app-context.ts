import { EventEmitter } from 'node:events';
import type { ResolvedConfig } from '../config/load.js';
import type { Logger } from '../core/logger.js';
import { VERSION } from '../version.js';
import type { Toolset } from '../tools/define-tool.js';

/** How this process was started: shown by selfscope_status, applied at registration. */
export interface RuntimeOptions {
  transport: 'stdio' | 'http' | 'in-process';
  readOnly: boolean;
  /** Toolsets registered; all when undefined. */
  toolsets: readonly Toolset[] | undefined;
}

/**
 * What one selfscope process shares between its MCP sessions: the configuration, the
 * diagnostics logger, resource-update events, and engines created on first use (the log
 * index, for example) and closed on shutdown.
 */
export class AppContext {
  readonly version = VERSION;
  /** Emits `updated` with a resource URI when its content changed (for subscriptions). */
  readonly resourceEvents = new EventEmitter();
  private readonly services = new Map<string, Promise<unknown>>();
  private readonly disposers: Array<() => Promise<void>> = [];
  private closed = false;

  constructor(
    readonly config: ResolvedConfig,
    readonly logger: Logger,
    readonly runtime: RuntimeOptions = { transport: 'in-process', readOnly: false, toolsets: undefined },
    /** The directory the session started in: the default worktree for checks and git. */
    readonly cwd: string = process.cwd(),
  ) {
    this.resourceEvents.setMaxListeners(0);
  }

  /** Returns the engine registered under `key`, creating it once. */
  service<T>(key: string, create: () => Promise<T>, dispose?: (value: T) => Promise<void>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('selfscope is shutting down'));
    let existing = this.services.get(key) as Promise<T> | undefined;
    if (!existing) {
      existing = create();
      this.services.set(key, existing);
      // A failed creation is not cached: the next call tries again (after a config fix, say).
      existing.then(
        (value) => {
          if (dispose) this.disposers.push(() => dispose(value));
        },
        () => this.services.delete(key),
      );
    }
    return existing;
  }

  /** Whether the engine under `key` already exists (status reports without creating it). */
  hasService(key: string): boolean {
    return this.services.has(key);
  }

  notifyResourceUpdated(uri: string): void {
    this.resourceEvents.emit('updated', uri);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.services.values());
    for (const dispose of this.disposers.reverse()) {
      try {
        await dispose();
      } catch (error) {
        this.logger.log('error', 'failed to close an engine', { error: String(error) });
      }
    }
    this.resourceEvents.removeAllListeners();
  }
}
