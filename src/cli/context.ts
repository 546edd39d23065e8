import { loadConfig, type ResolvedConfig } from '../config/load.js';
import { AppContext, type RuntimeOptions } from '../server/app-context.js';
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

export async function resolveCliConfig(options: GlobalOptions): Promise<ResolvedConfig> {
  return loadConfig({ flags: flagsToConfig(options), ...(options.config !== undefined ? { configPath: options.config } : {}) });
}

/** Builds the process's AppContext for a CLI command. */
export async function createCliApp(options: GlobalOptions, runtime: RuntimeOptions): Promise<AppContext> {
  const config = await resolveCliConfig(options);
  return new AppContext(config, new LogHub(options.logLevel ?? 'warning'), runtime);
}
