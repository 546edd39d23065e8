import { defineResource, defineResourceTemplate } from './define-resource.js';

export const anomaliesOpen = defineResource({
  name: 'anomalies_open',
  toolset: 'anomalies',
  uri: 'selfscope://anomalies/open',
  title: 'Open anomalies',
  description: 'Incidents open now, most severe first, each with the rules of its member signals. Subscribable: updated when the set or a severity changes (detect_anomalies or selfscope watch).',
  mimeType: 'application/json',
  subscribable: true,
  load: () => import('./handlers/anomalies.js').then((m) => m.anomaliesOpen),
});

export const anomalyDetail = defineResourceTemplate({
  name: 'anomaly',
  toolset: 'anomalies',
  uriTemplate: 'selfscope://anomalies/{id}',
  title: 'One anomaly',
  description: 'An anomaly in full: figures, samples (untrusted), evidence query, and its history (opened, escalated, resolved).',
  mimeType: 'application/json',
  completes: ['id'],
  load: () => import('./handlers/anomalies.js').then((m) => m.anomalyDetail),
});
