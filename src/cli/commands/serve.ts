import { InvalidArgumentError, type Command } from 'commander';
import { ensureStateDir } from '../../core/state/state-dir.js';
import { parseListenAddress } from '../../server/listen-address.js';
import { TOOLSETS, type Toolset } from '../../tools/define-tool.js';
import { createCliApp, type GlobalOptions } from '../context.js';

function parseToolsets(value: string): Toolset[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(TOOLSETS as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new InvalidArgumentError(`unknown toolset ${unknown.join(', ') || '(empty)'}; choose from ${TOOLSETS.join(', ')}`);
  }
  return names as Toolset[];
}

/** Resolves once on SIGINT, SIGTERM or `extra`, so the caller can close cleanly. */
function shutdownSignal(extra?: Promise<void>): Promise<string> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      // A second signal while closing means "now".
      process.once(signal, () => process.exit(130));
      resolve(signal);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    void extra?.then(() => resolve('client closed'));
  });
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the MCP server: stdio (default) or Streamable HTTP with --http')
    .option('--http [address]', 'serve Streamable HTTP at /mcp on [HOST:]PORT (default 127.0.0.1:8765)')
    .option('--read-only', 'register only read-only tools')
    .option('--toolsets <list>', `comma-separated toolsets to register (${TOOLSETS.join(', ')})`, parseToolsets)
    .action(async (options: { http?: string | boolean; readOnly?: boolean; toolsets?: Toolset[] }, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const transport = options.http !== undefined ? 'http' : 'stdio';
      const listen = options.http !== undefined ? parseListenAddress(typeof options.http === 'string' ? options.http : '8765') : undefined;
      const app = await createCliApp(global, { transport, readOnly: options.readOnly === true, toolsets: options.toolsets });
      await ensureStateDir(app.config.repo, app.config.stateDirPath);

      if (listen) {
        const [{ serveHttp }, { resolveHttpToken }] = await Promise.all([import('../../server/http.js'), import('../../server/http-token.js')]);
        const { token, source, file } = await resolveHttpToken(app.config.stateDirPath);
        const running = await serveHttp(app, { ...listen, token });
        process.stderr.write(
          `selfscope ${app.version} serving ${app.config.repo}\n  MCP endpoint: ${running.url}\n  bearer token: ${source === 'env' ? 'from SELFSCOPE_TOKEN' : `in ${file} (mode 0600)`}\n`,
        );
        const why = await shutdownSignal();
        app.logger.log('info', `shutting down (${why})`);
        await running.close();
        await app.close();
        return;
      }

      const { serveStdio } = await import('../../server/stdio.js');
      const session = await serveStdio(app);
      const why = await shutdownSignal(session.closed);
      app.logger.log('info', `shutting down (${why})`);
      await session.close().catch(() => {});
      await app.close();
      // stdin may keep the event loop alive after the client is gone.
      process.exit(0);
    });
}
