import type { DuckDBConnection } from '@duckdb/node-api';
import { StateStore } from '../state/store.js';
import type { Anomaly, Severity } from './detect.js';

/**
 * Anomaly state, one record per incident: `open` when first detected, `resolved` when it has
 * been quiet for the quiet period, reopened if it fires again; a bounded history of each change.
 * An incident keeps its id while any of its member signals fires, whichever leads it now.
 * Anomalies found only by evaluating the past are kept as `past`: their ids then work with
 * suspect_commits and verify_fix, but they never count as open.
 */

export interface AnomalyRecord {
  id: string;
  rule: string;
  status: 'open' | 'resolved' | 'past';
  severity: Severity;
  summary: string;
  first_seen: string;
  last_fired: string;
  resolved_at: string | null;
  anomaly: Anomaly;
  /** Ids of every signal seen in this incident: a later evaluation finds it by any of them. */
  signal_ids: string[];
  history: Array<{ at: string; change: 'opened' | 'escalated' | 'deescalated' | 'resolved' | 'reopened'; severity: Severity }>;
}

export interface StateChanges {
  opened: Anomaly[];
  escalated: Anomaly[];
  resolved: AnomalyRecord[];
  /** The records of the incidents that fired, after this update. */
  records: AnomalyRecord[];
}

const SCHEMA = ['CREATE TABLE IF NOT EXISTS anomalies (id VARCHAR PRIMARY KEY, status VARCHAR, last_fired TIMESTAMP, record JSON)'];
const RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };
const MAX_HISTORY = 50;
const MAX_SIGNAL_IDS = 50;
// A resolved incident is matched by its signals for this long, so a recurrence reopens it.
const REOPEN_WITHIN_MS = 7 * 86_400_000;

function signalIds(a: Anomaly): string[] {
  return [a.id, ...(a.signals ?? []).map((s) => s.id)];
}

/**
 * Applies an evaluation to the state. Each fired incident is matched to its record by id or by
 * any member signal (open records first), and takes that record's id: the incident's id stays
 * stable while its members and lead change.
 */
export async function updateAnomalyState(privateDirPath: string, fired: Anomaly[], at: Date, quietMs: number): Promise<StateChanges> {
  return StateStore.inStateDir(privateDirPath).run('anomalies', SCHEMA, async (conn) => {
    // Ids are an- + hex (anomalyId), safe to list inline.
    const ids = [...new Set(fired.flatMap(signalIds))].filter((id) => /^an-[0-9a-f]+$/.test(id));
    const stmt = await conn.prepare(`SELECT record::VARCHAR AS record FROM anomalies WHERE status = 'open' OR (status = 'resolved' AND last_fired >= $1::TIMESTAMP)${ids.length ? ` OR id IN (${ids.map((id) => `'${id}'`).join(', ')})` : ''}`);
    stmt.bind([new Date(at.getTime() - REOPEN_WITHIN_MS).toISOString()]);
    const rows = (await stmt.runAndReadAll()).getRowObjectsJS() as Array<{ record: string }>;
    const known = new Map(rows.map((r) => [JSON.parse(r.record).id as string, normalise(JSON.parse(r.record) as AnomalyRecord)]));
    const changes: StateChanges = { opened: [], escalated: [], resolved: [], records: [] };
    const now = at.toISOString();
    const save: AnomalyRecord[] = [];
    const claimed = new Set<string>();
    const order = (r: AnomalyRecord) => (r.status === 'open' ? 0 : r.status === 'resolved' ? 1 : 2);
    for (const a of fired) {
      const mine = new Set(signalIds(a));
      const direct = known.get(a.id);
      const rec =
        (direct && !claimed.has(direct.id) ? direct : undefined) ??
        [...known.values()].filter((r) => !claimed.has(r.id) && r.signal_ids.some((id) => mine.has(id))).sort((x, y) => order(x) - order(y))[0];
      if (rec) {
        claimed.add(rec.id);
        a.id = rec.id;
      }
      const signals = [...new Set([...(rec?.signal_ids ?? []), ...signalIds(a)])].slice(-MAX_SIGNAL_IDS);
      if (!rec || rec.status === 'past') {
        const record: AnomalyRecord = { id: a.id, rule: a.rule, status: 'open', severity: a.severity, summary: a.summary, first_seen: now, last_fired: now, resolved_at: null, anomaly: a, signal_ids: signals, history: [{ at: now, change: 'opened', severity: a.severity }] };
        claimed.add(a.id);
        save.push(record);
        changes.records.push(record);
        changes.opened.push(a);
        continue;
      }
      const wasResolved = rec.status === 'resolved';
      const change: AnomalyRecord['history'][number]['change'] | null = wasResolved ? 'reopened' : RANK[a.severity] > RANK[rec.severity] ? 'escalated' : RANK[a.severity] < RANK[rec.severity] ? 'deescalated' : null;
      if (wasResolved) changes.opened.push(a);
      else if (change === 'escalated') changes.escalated.push(a);
      const record: AnomalyRecord = {
        ...rec,
        rule: a.rule,
        status: 'open',
        severity: a.severity,
        summary: a.summary,
        last_fired: now,
        resolved_at: null,
        anomaly: a,
        signal_ids: signals,
        history: change ? [...rec.history, { at: now, change, severity: a.severity }].slice(-MAX_HISTORY) : rec.history,
      };
      save.push(record);
      changes.records.push(record);
    }
    for (const rec of known.values()) {
      if (rec.status !== 'open' || claimed.has(rec.id)) continue;
      if (at.getTime() - Date.parse(rec.last_fired) >= quietMs) {
        const resolved: AnomalyRecord = { ...rec, status: 'resolved', resolved_at: now, history: [...rec.history, { at: now, change: 'resolved' as const, severity: rec.severity }].slice(-MAX_HISTORY) };
        save.push(resolved);
        changes.resolved.push(resolved);
      }
    }
    await saveRecords(conn, save, 'replace');
    return changes;
  });
}

/** Records written before incidents had member signals. */
function normalise(rec: AnomalyRecord): AnomalyRecord {
  return { ...rec, signal_ids: rec.signal_ids ?? [rec.id], anomaly: { ...rec.anomaly, signals: rec.anomaly.signals ?? [] } };
}

/** Keeps the anomalies of a past evaluation under their ids, without touching known ones. */
export async function recordPastAnomalies(privateDirPath: string, found: Anomaly[], at: Date): Promise<void> {
  if (!found.length) return;
  await StateStore.inStateDir(privateDirPath).run('anomalies', SCHEMA, async (conn) => {
    const when = at.toISOString();
    const records = found.map((a): AnomalyRecord => ({ id: a.id, rule: a.rule, status: 'past', severity: a.severity, summary: a.summary, first_seen: when, last_fired: when, resolved_at: null, anomaly: a, signal_ids: signalIds(a), history: [] }));
    await saveRecords(conn, records, 'keep');
  });
}

/** Writes records in one transaction; `keep` leaves an existing record of the same id alone. */
async function saveRecords(conn: DuckDBConnection, records: AnomalyRecord[], onConflict: 'replace' | 'keep'): Promise<void> {
  if (!records.length) return;
  const sql = onConflict === 'replace' ? 'INSERT OR REPLACE INTO anomalies VALUES ($1, $2, $3::TIMESTAMP, $4)' : 'INSERT INTO anomalies VALUES ($1, $2, $3::TIMESTAMP, $4) ON CONFLICT DO NOTHING';
  await conn.run('BEGIN TRANSACTION');
  try {
    for (const rec of records) {
      const stmt = await conn.prepare(sql);
      stmt.bind([rec.id, rec.status, rec.last_fired, JSON.stringify(rec)]);
      await stmt.run();
    }
    await conn.run('COMMIT');
  } catch (error) {
    await conn.run('ROLLBACK').catch(() => {});
    throw error;
  }
}

export async function listAnomalies(privateDirPath: string, status: 'open' | 'resolved' | 'past' | 'all' = 'open', limit = 50): Promise<AnomalyRecord[]> {
  return StateStore.inStateDir(privateDirPath).run('anomalies', SCHEMA, async (conn) => {
    const where = status === 'all' ? '' : `WHERE status = '${status}'`;
    const rows = (await conn.runAndReadAll(`SELECT record::VARCHAR AS record FROM anomalies ${where} ORDER BY last_fired DESC LIMIT ${Math.floor(limit)}`)).getRowObjectsJS() as Array<{ record: string }>;
    return rows.map((r) => normalise(JSON.parse(r.record) as AnomalyRecord)).sort((a, b) => RANK[b.severity] - RANK[a.severity]);
  });
}

export async function getAnomaly(privateDirPath: string, id: string): Promise<AnomalyRecord | null> {
  return StateStore.inStateDir(privateDirPath).run('anomalies', SCHEMA, async (conn) => {
    const stmt = await conn.prepare('SELECT record::VARCHAR AS record FROM anomalies WHERE id = $1');
    stmt.bind([id]);
    const rows = (await stmt.runAndReadAll()).getRowObjectsJS() as Array<{ record: string }>;
    return rows[0] ? normalise(JSON.parse(rows[0].record) as AnomalyRecord) : null;
  });
}
