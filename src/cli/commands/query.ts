import { InvalidArgumentError, type Command } from 'commander';
import type { GlobalOptions } from '../context.js';
import type { AnyToolDefinition } from '../../tools/define-tool.js';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function number(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('not a number');
  return n;
}

/** `--where metadata.toolName=music_queue_add`, `--where metadata.runtimeMs>500`, `--where metadata.error?` */
function parseWhere(value: string, previous: Array<Record<string, unknown>> = []): Array<Record<string, unknown>> {
  const m = /^([\w.-]+)\s*(=|>|<|\?)\s*(.*)$/.exec(value);
  if (!m) throw new InvalidArgumentError('use PATH=VALUE, PATH>N, PATH<N or PATH? (exists)');
  const [, path, op, rest] = m;
  const clause: Record<string, unknown> = { path };
  if (op === '=') clause['equals'] = rest;
  else if (op === '?') clause['exists'] = true;
  else clause[op === '>' ? 'gt' : 'lt'] = number(rest!);
  return [...previous, clause];
}

interface QueryOptions {
  since?: string;
  until?: string;
  kind?: string[];
  event?: string[];
  agent?: string[];
  level?: string[];
  errorsOnly?: boolean;
  text?: string;
  guildId?: string;
  channelId?: string;
  userId?: string;
  where?: Array<Record<string, unknown>>;
  minLatency?: number;
  groupBy?: string[];
  bucket?: string;
  metric?: string[];
  sql?: string;
  limit?: number;
  cursor?: string;
  fields?: string[];
  json?: boolean;
}

export function registerQueryCommands(program: Command): void {
  program
    .command('query')
    .description('query the runtime logs: events, --group-by aggregates, or --sql')
    .option('--since <time>', 'relative (15m, 24h, 7d) or ISO-8601')
    .option('--until <time>', 'relative or ISO-8601')
    .option('--kind <kind>', 'kind (repeatable; * and ? globs)', collect)
    .option('--event <event>', 'event (repeatable; prefix* or glob)', collect)
    .option('--agent <agent>', 'agent (repeatable)', collect)
    .option('--level <level>', 'info or error (repeatable)', collect)
    .option('--errors-only', 'failures only')
    .option('--text <text>', 'substring of event, content or error')
    .option('--guild-id <id>')
    .option('--channel-id <id>')
    .option('--user-id <id>')
    .option('--where <cond>', 'PATH=VALUE, PATH>N, PATH<N or PATH? (repeatable)', parseWhere)
    .option('--min-latency <ms>', 'latency at least', number)
    .option('--group-by <field>', 'aggregate by kind, event, agent, level, fingerprint, tool_name or metadata.PATH (repeatable)', collect)
    .option('--bucket <size>', 'aggregate by time bucket: 5m, 1h, 1d')
    .option('--metric <metric>', 'count, errors, error_rate, p50, p95, p99, cost (repeatable)', collect)
    .option('--sql <select>', 'one read-only SELECT over the logs view')
    .option('--fields <field>', 'events: fields to show (repeatable)', collect)
    .option('--limit <n>', 'rows', number)
    .option('--cursor <cursor>', 'next page')
    .option('--json', 'machine-readable output')
    .action(async (o: QueryOptions, command: Command) => {
      const mode = o.sql ? 'sql' : o.groupBy || o.bucket || o.metric ? 'aggregate' : 'events';
      const input: Record<string, unknown> = {
        mode,
        since: o.since,
        until: o.until,
        kind: o.kind,
        event: o.event,
        agent: o.agent,
        level: o.level,
        errors_only: o.errorsOnly,
        text: o.text,
        guild_id: o.guildId,
        channel_id: o.channelId,
        user_id: o.userId,
        where: o.where,
        min_latency_ms: o.minLatency,
        group_by: o.groupBy,
        bucket: o.bucket,
        metrics: o.metric,
        sql: o.sql,
        fields: o.fields,
        limit: o.limit,
        cursor: o.cursor,
      };
      await runAndPrint(command, async () => (await import('../../tools/query-runtime-logs.js')).default, input, o.json === true);
    });

  program
    .command('timeline')
    .description('everything correlated with one session, turn, call or message, in time order')
    .option('--session-id <id>')
    .option('--turn-id <id>')
    .option('--trigger-message-id <id>')
    .option('--call-id <id>')
    .option('--message-id <id>')
    .option('--limit <n>', 'events', number)
    .option('--json', 'machine-readable output')
    .action(async (o: { sessionId?: string; turnId?: string; triggerMessageId?: string; callId?: string; messageId?: string; limit?: number; json?: boolean }, command: Command) => {
      await runAndPrint(
        command,
        async () => (await import('../../tools/log-timeline.js')).default,
        { session_id: o.sessionId, turn_id: o.turnId, trigger_message_id: o.triggerMessageId, call_id: o.callId, message_id: o.messageId, limit: o.limit },
        o.json === true,
      );
    });
}

// The command's modules load when it runs, not when any command starts.
async function runAndPrint(command: Command, loadTool: () => Promise<AnyToolDefinition>, input: Record<string, unknown>, json: boolean): Promise<void> {
  const [{ createCliApp }, { catchUpLogIndex }, { runToolInProcess }, tool] = await Promise.all([import('../context.js'), import('../progress.js'), import('../run-tool.js'), loadTool()]);
  const app = await createCliApp(command.optsWithGlobals<GlobalOptions>(), { transport: 'in-process', readOnly: true, toolsets: undefined });
  try {
    const clean = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
    await catchUpLogIndex(app, { json });
    const result = await runToolInProcess(app, tool, clean);
    process.stdout.write(json ? `${JSON.stringify(result.structured, null, 2)}\n` : `${result.text}\n`);
  } finally {
    await app.close();
  }
}
