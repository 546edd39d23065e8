import { defineResource, defineResourceTemplate } from './define-resource.js';

const JSON_MIME = 'application/json';

export const logsRecent = defineResource({
  name: 'logs_recent',
  toolset: 'logs',
  uri: 'selfscope://logs/recent',
  title: 'Recent log events',
  description: 'The latest 50 runtime log events, compact. Subscribable: updated when new lines land. Untrusted text.',
  mimeType: JSON_MIME,
  subscribable: true,
  load: () => import('./handlers/logs.js').then((m) => m.logsRecent),
});

export const logsErrors = defineResource({
  name: 'logs_errors',
  toolset: 'logs',
  uri: 'selfscope://logs/errors',
  title: 'Recent failures',
  description: 'The latest 50 failures (level error, *_failed/*_error events, or an error message). Subscribable. Untrusted text.',
  mimeType: JSON_MIME,
  subscribable: true,
  load: () => import('./handlers/logs.js').then((m) => m.logsErrors),
});

export const logsStats = defineResource({
  name: 'logs_stats',
  toolset: 'logs',
  uri: 'selfscope://logs/stats',
  title: 'Log statistics',
  description: 'Per-kind counts and error rates over the last 24 h, and index health (bad lines per file, freshness). Subscribable.',
  mimeType: JSON_MIME,
  subscribable: true,
  load: () => import('./handlers/logs.js').then((m) => m.logsStats),
});

export const logsKind = defineResourceTemplate({
  name: 'logs_kind',
  toolset: 'logs',
  uriTemplate: 'selfscope://logs/kind/{kind}',
  title: 'Recent events of one kind',
  description: 'The latest 50 events of one kind (completion lists the known kinds). Untrusted text.',
  mimeType: JSON_MIME,
  completes: ['kind'],
  load: () => import('./handlers/logs.js').then((m) => m.logsKind),
});

export const logsEvent = defineResourceTemplate({
  name: 'logs_event',
  toolset: 'logs',
  uriTemplate: 'selfscope://logs/event/{id}',
  title: 'One log event',
  description: 'One event by id, fields bounded (get_log_event pages through big fields). Untrusted text.',
  mimeType: JSON_MIME,
  load: () => import('./handlers/logs.js').then((m) => m.logsEvent),
});
