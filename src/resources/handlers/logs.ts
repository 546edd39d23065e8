import { NotFoundError, UserInputError } from '../../core/errors.js';
import type { LogIndex } from '../../core/logs/log-index.js';
import { boundRows, getEvent, queryEvents } from '../../core/logs/query.js';
import type { AppContext } from '../../server/app-context.js';
import { getLogIndex } from '../../server/engines.js';
import type { ResourceContents, StaticResourceHandlers, TemplateResourceHandlers } from '../define-resource.js';

// What a kind may look like in a URI (the read checks it; completion offers only such kinds).
const KIND_PATTERN = /^[\w.:-]{1,120}$/;
const COMPACT = ['id', 'ts', 'level', 'kind', 'event', 'agent', 'latency_ms', 'error', 'tool_name'] as const;
// Updates are sent at most this often per resource.
const DEBOUNCE_MS = 1000;

/** A JSON body; the boundary sanitises it and adds the untrusted notice. */
function json(uri: URL | string, value: unknown): ResourceContents[] {
  return [{ uri: String(uri), json: value }];
}

function bounds(app: AppContext) {
  return { fieldBytes: Math.min(app.config.limits.fieldBytes, 500), maxBytes: Math.floor(app.config.limits.resultBytes * 0.8) };
}

async function recent(app: AppContext, filters: { errors_only?: boolean; kind?: string }): Promise<Record<string, unknown>> {
  const index = await getLogIndex(app);
  await index.refresh();
  const result = await queryEvents(index, { filters, fields: [...COMPACT], limit: 50 }, bounds(app));
  return { untrusted: true, events: result.rows, total_matched: result.total_matched, truncated: result.truncated, freshness: index.freshness() };
}

/**
 * Follows the log while someone is subscribed and emits `uri` (debounced) when `changed`
 * says the new lines matter to it.
 */
async function followFor(app: AppContext, uri: string, changed: (index: LogIndex) => Promise<boolean> = async () => true): Promise<() => void> {
  const index = await getLogIndex(app);
  let timer: NodeJS.Timeout | null = null;
  let lastSent = 0;
  const stop = index.follow(() => {
    if (timer) return;
    const wait = Math.max(0, lastSent + DEBOUNCE_MS - Date.now());
    timer = setTimeout(() => {
      timer = null;
      void changed(index).then((yes) => {
        if (!yes) return;
        lastSent = Date.now();
        app.notifyResourceUpdated(uri);
      }, () => {});
    }, wait);
  });
  return () => {
    stop();
    if (timer) clearTimeout(timer);
  };
}

/** Emits for errors only when the newest failure changed. */
function newestFailureTracker(): (index: LogIndex) => Promise<boolean> {
  let last: string | null | undefined;
  return async (index) => {
    const rows = await index.query<{ id: string | null }>('SELECT id FROM logs WHERE is_failure ORDER BY ts DESC, id DESC LIMIT 1', []);
    const id = rows.rows[0]?.id ?? null;
    const changed = last !== undefined && id !== last;
    last = id;
    return changed || last === undefined;
  };
}

export const logsRecent: StaticResourceHandlers = {
  read: async ({ app, uri }) => json(uri, await recent(app, {})),
  onSubscribe: ({ app }) => followFor(app, 'selfscope://logs/recent'),
};

export const logsErrors: StaticResourceHandlers = {
  read: async ({ app, uri }) => json(uri, await recent(app, { errors_only: true })),
  onSubscribe: async ({ app }) => {
    const tracker = newestFailureTracker();
    await tracker(await getLogIndex(app));
    return followFor(app, 'selfscope://logs/errors', tracker);
  },
};

export const logsStats: StaticResourceHandlers = {
  read: async ({ app, uri }) => {
    const index = await getLogIndex(app);
    await index.refresh();
    const rows = await index.query<Record<string, unknown>>(
      `SELECT kind, count(*) AS count, count(*) FILTER (WHERE is_failure) AS errors, round(count(*) FILTER (WHERE is_failure) / count(*), 4) AS error_rate,
              round(quantile_cont(latency_ms, 0.95), 1) AS p95_ms, round(sum(usd_cost), 6) AS cost_usd
       FROM logs WHERE ts >= now()::TIMESTAMP - INTERVAL 24 HOUR GROUP BY kind ORDER BY count DESC LIMIT 200`,
      [],
    );
    const kinds = boundRows(rows.rows, bounds(app));
    return json(uri, { window: '24h', untrusted: true, kinds: kinds.rows, truncated: kinds.truncated, freshness: index.freshness(), files: index.health() });
  },
  onSubscribe: ({ app }) => followFor(app, 'selfscope://logs/stats'),
};

export const logsKind: TemplateResourceHandlers = {
  complete: {
    kind: async (value, { app }) => {
      const index = await getLogIndex(app);
      await index.refresh();
      const rows = await index.query<{ kind: string }>(`SELECT DISTINCT kind FROM logs WHERE kind IS NOT NULL AND starts_with(kind, ?) ORDER BY kind LIMIT 50`, [value]);
      return rows.rows.map((r) => r.kind).filter((k) => KIND_PATTERN.test(k));
    },
  },
  read: async ({ app, uri, params }) => {
    const kind = params['kind'] ?? '';
    if (!KIND_PATTERN.test(kind)) throw new UserInputError('A kind is letters, digits, _ . : or - (up to 120).', { hint: 'Complete the {kind} variable, or read selfscope://logs/stats for the kinds.' });
    return json(uri, { kind, ...(await recent(app, { kind })) });
  },
};

export const logsEvent: TemplateResourceHandlers = {
  read: async ({ app, uri, params }) => {
    const id = params['id'] ?? '';
    if (!/^[0-9a-f]{1,40}:\d{1,15}$/.test(id)) throw new UserInputError('An event id looks like 3fa2c91b0e:18234.', { hint: 'Take ids from query_runtime_logs or selfscope://logs/recent.' });
    const index = await getLogIndex(app);
    await index.refresh();
    const row = await getEvent(index, id);
    if (!row) throw new NotFoundError(`No log event with id ${id}.`, { hint: 'Take ids from query_runtime_logs; ids change only if the index is rebuilt.' });
    const event = boundRows([row], { fieldBytes: app.config.limits.fieldBytes, maxBytes: Math.floor(app.config.limits.resultBytes * 0.8) }).rows[0];
    return json(uri, { untrusted: true, event });
  },
};
