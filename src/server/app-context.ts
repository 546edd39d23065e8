import { EventEmitter } from 'node:events';
import type { ResolvedConfig } from '../config/load.js';
import type { Logger } from '../core/logger.js';
import { VERSION } from '../version.js';
import type { Toolset } from '../tools/define-tool.js';

/**
 * What a session registers (see filters.ts): the server's own choices (flags > environment >
 * configuration file), narrowed per HTTP session by request headers, never widened.
 */
export interface RegistrationChoices {
  /** Only tools whose `readOnlyHint` is true. */
  readOnly: boolean;
  /** Toolsets registered; all when undefined. `core` is on whatever the list says. */
  toolsets: readonly Toolset[] | undefined;
  /** Tools registered besides `core`'s; all when undefined. */
  allowTools?: readonly string[] | undefined;
  /** Tools never registered, whatever else says so. */
  denyTools?: readonly string[];
}

/** How this process was started: shown by selfscope_status, applied at registration. */
export interface RuntimeOptions extends RegistrationChoices {
  transport: 'stdio' | 'http' | 'in-process';
  /** The request headers that narrowed this session's choices (HTTP), for selfscope_status. */
  narrowedBy?: readonly string[];
}

/** What the sessions of one process share, whichever runtime options each sees. */
export interface SharedState {
  readonly resourceEvents: EventEmitter;
  readonly services: Map<string, Promise<unknown>>;
  readonly disposers: Array<() => Promise<void>>;
  closed: boolean;
}

/**
 * What one selfscope process shares between its MCP sessions: the configuration, the
 * diagnostics logger, resource-update events, and engines created on first use (the log
 * index, for example) and closed on shutdown.
 */
export class AppContext {
  readonly version = VERSION;
  /** Emits `updated` with a resource URI when its content changed (for subscriptions). */
  readonly resourceEvents: EventEmitter;
  private readonly shared: SharedState;
  /** A session's view (forSession) shares the engines and never closes them. */
  private readonly owner: boolean;

  constructor(
    readonly config: ResolvedConfig,
    readonly logger: Logger,
    readonly runtime: RuntimeOptions = { transport: 'in-process', readOnly: false, toolsets: undefined },
    /** The directory the session started in: the default worktree for checks and git. */
    readonly cwd: string = process.cwd(),
    shared?: SharedState,
  ) {
    this.owner = shared === undefined;
    this.shared = shared ?? { resourceEvents: new EventEmitter(), services: new Map(), disposers: [], closed: false };
    this.resourceEvents = this.shared.resourceEvents;
    this.resourceEvents.setMaxListeners(0);
  }

  /**
   * The same process seen by one session with its own runtime options (an HTTP session whose
   * headers narrowed what it registers): engines, events and configuration are shared.
   */
  forSession(runtime: RuntimeOptions): AppContext {
    return new AppContext(this.config, this.logger, runtime, this.cwd, this.shared);
  }

  /** Returns the engine registered under `key`, creating it once. */
  service<T>(key: string, create: () => Promise<T>, dispose?: (value: T) => Promise<void>): Promise<T> {
    const { services } = this.shared;
    if (this.shared.closed) return Promise.reject(new Error('selfscope is shutting down'));
    let existing = services.get(key) as Promise<T> | undefined;
    if (!existing) {
      existing = create();
      services.set(key, existing);
      // A failed creation is not cached: the next call tries again (after a config fix, say).
      existing.then(
        (value) => {
          if (dispose) this.shared.disposers.push(() => dispose(value));
        },
        () => services.delete(key),
      );
    }
    return existing;
  }

  /** Whether the engine under `key` already exists (status reports without creating it). */
  hasService(key: string): boolean {
    return this.shared.services.has(key);
  }

  notifyResourceUpdated(uri: string): void {
    this.resourceEvents.emit('updated', uri);
  }

  async close(): Promise<void> {
    if (!this.owner || this.shared.closed) return;
    this.shared.closed = true;
    await Promise.allSettled(this.shared.services.values());
    for (const dispose of this.shared.disposers.reverse()) {
      try {
        await dispose();
      } catch (error) {
        this.logger.log('error', 'failed to close an engine', { error: String(error) });
      }
    }
    this.resourceEvents.removeAllListeners();
  }
}
