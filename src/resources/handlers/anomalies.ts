import { NotFoundError, UserInputError } from '../../core/errors.js';
import { getAnomaly, listAnomalies } from '../../core/anomalies/state.js';
import type { StaticResourceHandlers, TemplateResourceHandlers } from '../define-resource.js';

export const anomaliesOpen: StaticResourceHandlers = {
  read: async ({ app, uri }) => {
    const open = await listAnomalies(app.config.privateDirPath, 'open');
    return [{ uri: uri.href, json: { untrusted: true, anomalies: open.map((r) => ({ id: r.id, rule: r.rule, rules: [...new Set(r.anomaly.signals.map((x) => x.rule))], severity: r.severity, summary: r.summary, onset: r.anomaly.onset, first_seen: r.first_seen, last_fired: r.last_fired })) } }];
  },
};

export const anomalyDetail: TemplateResourceHandlers = {
  complete: {
    id: async (value, { app }) => (await listAnomalies(app.config.privateDirPath, 'all', 100)).map((r) => r.id).filter((id) => id.startsWith(value)),
  },
  read: async ({ app, uri, params }) => {
    const id = params['id'] ?? '';
    if (!/^an-[0-9a-f]{12}$/.test(id)) throw new UserInputError('An anomaly id looks like an-3fa2c91b0e12.', { hint: 'Read selfscope://anomalies/open for the ids.' });
    const rec = await getAnomaly(app.config.privateDirPath, id);
    if (!rec) throw new NotFoundError(`No anomaly ${id}.`, { hint: 'Read selfscope://anomalies/open for the ids.' });
    // Subjects, summaries and samples quote log text: the boundary sanitises, bounds and marks the body.
    return [{ uri: uri.href, json: { untrusted: true, ...rec } }];
  },
};
