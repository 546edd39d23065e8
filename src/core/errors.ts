/**
 * Typed errors thrown by the engines. The server's one error boundary turns them into
 * `isError` tool results; `hint` is the sentence that tells the caller what to do next.
 * Messages are written by us: text from logs, git, test output or GitHub never goes in
 * a message, only into bounded data fields.
 */
export type ErrorCode =
  | 'user_input'
  | 'configuration'
  | 'policy'
  | 'upstream'
  | 'not_found'
  | 'conflict'
  | 'unavailable';

export class SelfscopeError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** Small, already-sanitised facts safe to show the caller (never secrets, never raw log text). */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { hint?: string; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }
}

type ErrorOptions = { hint?: string; cause?: unknown; details?: Record<string, unknown> };

/** The caller asked for something malformed or impossible; fix the arguments and call again. */
export class UserInputError extends SelfscopeError {
  constructor(message: string, options?: ErrorOptions) {
    super('user_input', message, options);
  }
}

/** selfscope's configuration (file, environment, flags) is wrong or incomplete. */
export class ConfigurationError extends SelfscopeError {
  constructor(message: string, options?: ErrorOptions) {
    super('configuration', message, options);
  }
}

/** A guardrail refused the action (protected branch, unverified tree, secret, sensitive path...). */
export class PolicyError extends SelfscopeError {
  constructor(message: string, options?: ErrorOptions) {
    super('policy', message, options);
  }
}

/** A service across the network (GitHub) failed or refused. */
export class UpstreamError extends SelfscopeError {
  constructor(message: string, options?: ErrorOptions) {
    super('upstream', message, options);
  }
}

/** The thing asked for does not exist (an event id, a run id, an anomaly id). */
export class NotFoundError extends SelfscopeError {
  constructor(message: string, options?: ErrorOptions) {
    super('not_found', message, options);
  }
}

/** Something else holds what is needed right now (a run in the same worktree, a lock). */
export class ConflictError extends SelfscopeError {
  constructor(message: string, options?: ErrorOptions) {
    super('conflict', message, options);
  }
}

export function isSelfscopeError(error: unknown): error is SelfscopeError {
  return error instanceof SelfscopeError;
}
