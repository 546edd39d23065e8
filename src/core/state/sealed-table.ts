import { appendAudit } from '../audit/audit-log.js';
import { recordKey, sealRecord, unsealRecord } from './signing.js';
import { StateStore } from './store.js';

/**
 * A table of signed records in the private state database: the one way guardrail records
 * are written and read. Each row holds its lookup columns, the record's JSON and a MAC over
 * both (see signing.ts). A read believes a row only when the MAC verifies and every lookup
 * column equals the signed field; any other row is ignored and written to the audit log, so
 * a copied, edited or forged row is seen by a person, never by the gate.
 */
export class SealedTable<T extends object> {
  private readonly schema: string[];

  constructor(
    private readonly table: string,
    /** Lookup columns (all VARCHAR) mapped to the record field each one must equal; the first is the primary key. */
    private readonly columns: Readonly<Record<string, keyof T & string>>,
  ) {
    const names = Object.keys(columns);
    this.schema = [
      `CREATE TABLE IF NOT EXISTS ${table} (${names.map((n, i) => `${n} VARCHAR${i === 0 ? ' PRIMARY KEY' : ' NOT NULL'}`).join(', ')}, record VARCHAR NOT NULL, mac VARCHAR NOT NULL)`,
      ...names.slice(1).map((n) => `CREATE INDEX IF NOT EXISTS ${table}_${n} ON ${table} (${n})`),
    ];
  }

  async insert(privateDirPath: string, value: T): Promise<void> {
    const key = await recordKey(privateDirPath);
    const record = JSON.stringify(value);
    const names = Object.keys(this.columns);
    const params = [...names.map((n) => String((value as Record<string, unknown>)[this.columns[n]!])), record, sealRecord(key, this.table, record)];
    await StateStore.inStateDir(privateDirPath).run(this.table, this.schema, async (conn) => {
      const stmt = await conn.prepare(`INSERT INTO ${this.table} VALUES (${params.map((_, i) => `$${i + 1}`).join(', ')})`);
      stmt.bind(params);
      await stmt.run();
    });
  }

  /** Rows whose columns equal `where` (column -> value), verified; at most `limit` read. */
  async select(privateDirPath: string, where: Readonly<Record<string, string>>, limit = 500): Promise<T[]> {
    const key = await recordKey(privateDirPath);
    const names = Object.keys(where);
    for (const n of names) if (!(n in this.columns)) throw new Error(`${this.table} has no lookup column ${n}`);
    const rows = await StateStore.inStateDir(privateDirPath).run(this.table, this.schema, async (conn) => {
      const stmt = await conn.prepare(`SELECT * FROM ${this.table}${names.length ? ` WHERE ${names.map((n, i) => `${n} = $${i + 1}`).join(' AND ')}` : ''} LIMIT ${Math.floor(limit)}`);
      if (names.length) stmt.bind(names.map((n) => where[n]!));
      return (await stmt.runAndReadAll()).getRowObjectsJS() as Array<{ record: string; mac: string } & Record<string, unknown>>;
    });
    const out: T[] = [];
    for (const row of rows) {
      const opened = unsealRecord<T>(key, this.table, row, this.columns);
      if (opened.ok) {
        out.push(opened.value);
        continue;
      }
      await appendAudit(privateDirPath, {
        kind: 'selfscope_policy',
        event: 'record_refused',
        tool: 'selfscope',
        outcome: `refused: a ${this.table} row failed verification (${opened.reason})`,
        details: { table: this.table, columns: Object.fromEntries(Object.keys(this.columns).map((n) => [n, String(row[n]).slice(0, 100)])) },
      }).catch(() => {});
    }
    return out;
  }
}
