import { loadConfig, type ResolvedConfig } from '../config/load.js';
import { AppContext, type RuntimeOptions } from '../server/app-context.js';
import { choicesFromConfig } from '../server/filters.js';
import { LogHub } from '../server/log-hub.js';
import type { LogLevel } from '../core/logger.js';

export interface GlobalOptions {
  repo?: string;
  config?: string;
  logs?: string[];
  stateDir?: string;
  logLevel?: LogLevel | 'off';
  json?: boolean;
}

/** Turns the global CLI flags into configuration overrides (the highest-precedence layer). */
export function flagsToConfig(options: GlobalOptions): Record<string, unknown> {
  return {
    ...(options.repo !== undefined ? { repo: options.repo } : {}),
    ...(options.logs !== undefined ? { logs: options.logs } : {}),
    ...(options.stateDir !== undefined ? { stateDir: options.stateDir } : {}),
  };
}

/** What `selfscope serve` registers, from its flags (the `server` configuration block). */
export interface ServerFlags {
  readOnly?: boolean;
  toolsets?: readonly string[];
  allowTools?: readonly string[];
  denyTools?: readonly string[];
}

/**
 * The resolved configuration. `serverFlags` are the serve command's flags, the highest layer
 * of the `server` block. Its tool and toolset names are checked here, so a typo fails every
 * command (`selfscope config` included) with the list of valid names.
 */
export async function resolveCliConfig(options: GlobalOptions, serverFlags: ServerFlags = {}): Promise<ResolvedConfig> {
  const server = Object.fromEntries(Object.entries(serverFlags).filter(([, v]) => v !== undefined));
  const flags = { ...flagsToConfig(options), ...(Object.keys(server).length > 0 ? { server } : {}) };
  const config = await loadConfig({ flags, ...(options.config !== undefined ? { configPath: options.config } : {}) });
  choicesFromConfig(config);
  return config;
}

/** Builds the process's AppContext for a CLI command. */
export async function createCliApp(options: GlobalOptions, runtime: RuntimeOptions): Promise<AppContext> {
  const config = await resolveCliConfig(options);
  return new AppContext(config, new LogHub(options.logLevel ?? 'warning'), runtime);
}

/** The AppContext of `selfscope serve`: what it registers comes from flags > environment > file. */
export async function createServeApp(options: GlobalOptions, transport: RuntimeOptions['transport'], serverFlags: ServerFlags): Promise<AppContext> {
  const config = await resolveCliConfig(options, serverFlags);
  return new AppContext(config, new LogHub(options.logLevel ?? 'warning'), { transport, ...choicesFromConfig(config) });
}
