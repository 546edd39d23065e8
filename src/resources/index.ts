import type { ResourceDefinition } from './define-resource.js';
import { anomaliesOpen, anomalyDetail } from './anomalies.js';
import { logsErrors, logsEvent, logsKind, logsRecent, logsStats } from './logs.js';
import { runOutput } from './runs.js';

/** Every resource and resource template. */
export const ALL_RESOURCES: readonly ResourceDefinition[] = [logsRecent, logsErrors, logsStats, logsKind, logsEvent, runOutput, anomaliesOpen, anomalyDetail];
