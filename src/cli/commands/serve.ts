import { InvalidArgumentError, type Command } from 'commander';
import { UserInputError } from '../../core/errors.js';
import type { RuntimeOptions } from '../../server/app-context.js';
import { TOOLSETS } from '../../tools/define-tool.js';
import { TOOL_NAMES } from '../../server/tool-catalog.js';
import { createServeApp, type GlobalOptions } from '../context.js';

/** A comma-separated list of names from `valid` (a usage error names the valid ones). */
function nameList(valid: readonly string[], what: string): (value: string) => string[] {
  return (value) => {
    const names = value.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = names.filter((n) => !valid.includes(n));
    if (unknown.length > 0 || names.length === 0) {
      throw new InvalidArgumentError(`unknown ${what} ${unknown.join(', ') || '(empty)'}; choose from ${valid.join(', ')}`);
    }
    return names;
  };
}

/** What every session registers at most (X-Selfscope-* headers narrow it per session). */
function registrationLine(runtime: RuntimeOptions): string {
  const parts = [
    runtime.readOnly ? 'read-only' : 'read-write',
    runtime.toolsets ? `toolsets ${runtime.toolsets.join(',')}` : 'every toolset',
    ...(runtime.allowTools ? [`only ${runtime.allowTools.join(',') || '(none)'} besides core`] : []),
    ...(runtime.denyTools?.length ? [`never ${runtime.denyTools.join(',')}`] : []),
  ];
  return `registers: ${parts.join('; ')} (sessions may narrow this with X-Selfscope-* headers)`;
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
    .option('--allowed-hosts <list>', 'with --http: comma-separated host names clients may use besides loopback ones (0.0.0.0 bind, reverse proxy); replaces http.allowedHosts')
    .option('--no-auth-loopback', 'with --http: no bearer token; listen on a loopback address only and refuse every non-loopback peer (for the MCP conformance suite and local tools)')
    .option('--read-only', 'register only read-only tools (server.readOnly, SELFSCOPE_SERVER__READ_ONLY)')
    .option('--toolsets <list>', `comma-separated toolsets to register (${TOOLSETS.join(', ')}; core is always on) (server.toolsets)`, nameList(TOOLSETS, 'toolset'))
    .option('--allow-tools <list>', 'comma-separated tools: register only these besides core (server.allowTools)', nameList(TOOL_NAMES, 'tool'))
    .option('--deny-tools <list>', 'comma-separated tools never to register; wins over everything else (server.denyTools)', nameList(TOOL_NAMES, 'tool'))
    .action(async (options: { http?: string | boolean; allowedHosts?: string; authLoopback?: boolean; readOnly?: boolean; toolsets?: string[]; allowTools?: string[]; denyTools?: string[] }, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const transport = options.http !== undefined ? 'http' : 'stdio';
      // The HTTP transport's modules load only when it is asked for.
      const [hosts, address] = options.http !== undefined ? await Promise.all([import('../../server/http-hosts.js'), import('../../server/listen-address.js')]) : [null, null];
      const listen = address?.parseListenAddress(typeof options.http === 'string' ? options.http : '8765');
      // commander reads `--no-auth-loopback` as "authLoopback: false".
      const noAuthLoopback = options.authLoopback === false;
      if (!listen && (noAuthLoopback || options.allowedHosts !== undefined)) {
        throw new UserInputError('--no-auth-loopback and --allowed-hosts apply to the HTTP transport only.', { hint: 'Add --http 127.0.0.1:PORT.' });
      }
      if (listen && noAuthLoopback && !hosts?.isLoopbackBind(listen.host)) {
        throw new UserInputError(`--no-auth-loopback serves only on a loopback address, not on ${listen.host}.`, {
          hint: 'Use --http 127.0.0.1:PORT (or [::1]:PORT) with --no-auth-loopback, or drop --no-auth-loopback and let clients send the bearer token.',
        });
      }
      const allowedHosts = options.allowedHosts !== undefined ? address?.parseAllowedHosts(options.allowedHosts) : undefined;
      // Flags override SELFSCOPE_SERVER__* and the file's `server` block, key by key.
      const app = await createServeApp(global, transport, {
        ...(options.readOnly === true ? { readOnly: true } : {}),
        toolsets: options.toolsets,
        allowTools: options.allowTools,
        denyTools: options.denyTools,
      });
      // Over stdio the state directory is made at the first tool call (engines.ts): the client
      // waits for tools/list behind everything done here. Over HTTP the token file goes in it.
      if (listen) {
        const [{ serveHttp }, { resolveHttpToken }, { ensureStateDir }] = await Promise.all([import('../../server/http.js'), import('../../server/http-token.js'), import('../../core/state/state-dir.js')]);
        await ensureStateDir(app.config.repo, app.config.stateDirPath);
        const auth = noAuthLoopback ? undefined : await resolveHttpToken(app.config.stateDirPath);
        const running = await serveHttp(app, { ...listen, ...(auth ? { tokens: auth.tokens } : { noAuthLoopback: true }), ...(allowedHosts ? { allowedHosts } : {}) });
        const tokenLine = !auth
          ? 'bearer token: none (--no-auth-loopback): any process on this machine can use this server; other peers get 403'
          : `bearer token: ${auth.source === 'env' ? 'from SELFSCOPE_TOKEN' : `in ${auth.file} (mode 0600)`}`;
        process.stderr.write(`selfscope ${app.version} serving ${app.config.repo}\n  MCP endpoint: ${running.url} (listening on ${running.listening})\n  ${tokenLine}\n  ${registrationLine(app.runtime)}\n`);
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
