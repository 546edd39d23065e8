/** The programmatic API: what the bot imports to embed or drive selfscope. */
export { createServer, selectTools } from './server/create-server.js';
export { AppContext, type RuntimeOptions } from './server/app-context.js';
export { serveStdio } from './server/stdio.js';
export { serveHttp, type HttpServeOptions, type RunningHttpServer } from './server/http.js';
export { parseListenAddress } from './server/listen-address.js';
export { loadConfig, type ResolvedConfig, type LoadConfigOptions } from './config/load.js';
export { configFileSchema, type ConfigFile } from './config/schema.js';
export * from './core/errors.js';
export { VERSION } from './version.js';
export { launchSession, createSessionDeps, type LaunchOptions } from './core/session/launch.js';
export { runSession, type LaunchSessionOptions, type LaunchSessionResult, type SessionEvent, type SessionOutcome, type SessionDeps } from './core/session/launcher.js';
// Merging: the bot's own process approves for an allowed user (github.allowedUserIds) who said
// "ship it"; no tool argument, command-line flag or client confirmation can.
export { mergePullRequest, approveMerge, readPullRequestSummary, type MergeRequest, type MergeOutcome, type MergeApprovalChannel, type PullRequestSummary } from './core/github/merge.js';
