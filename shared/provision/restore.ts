import { createHash } from 'node:crypto';
import { backupStore } from '../blobs/connect';
import { BackupManifestSchema } from '../deprovision/schemas';
import { BackupVerificationError } from '../deprovision/steps';
import { BlueprintError, ValidationError } from '../errors';
import { quoteIdent } from '../identifiers';
import { mapControlError } from '../registry/control';
import type { Runtime } from '../runtime';
import { parseOrThrow } from '../validation';
import type { StepEvent, StepOutputs } from './schemas';
import { planOf } from './steps';

/** Tenantry's own ledger: SyncTables has just written it, so the backup's copy is not loaded. */
const LEDGER = '_tenantry_migrations';

/**
 * RestoreRows: loads every row of the tenant's backup into the freshly built schema, in one
 * transaction. Foreign keys are dropped for the load and added back afterwards, so Postgres
 * checks every restored row against them whatever order the tables come in; the blueprint's own
 * triggers are off meanwhile, so loading audit rows does not write new ones. Each part's checksum
 * is checked before it is loaded, and the live counts must equal the manifest's at the end.
 * A retry after a lost response loads nothing twice (ON CONFLICT DO NOTHING).
 */
export async function restoreRows(rt: Runtime, event: StepEvent): Promise<StepOutputs['RestoreRows']> {
  const plan = planOf(event);
  if (!plan.restore)
    throw new ValidationError([{ field: 'restore', reason: 'this step runs only for a restore' }]);
  const store = await backupStore();
  const manifest = parseOrThrow(
    BackupManifestSchema,
    JSON.parse(await store.get(plan.restore.manifest)),
    'manifest.',
  );
  if (manifest.tenantId !== plan.tenantId || manifest.blueprintVersion !== plan.blueprintVersion) {
    throw new BlueprintError(
      `backup ${plan.restore.manifest} is of ${manifest.tenantId} v${manifest.blueprintVersion}, not ${plan.tenantId} v${plan.blueprintVersion}`,
    );
  }
  const schema = plan.schemaName;
  const qualified = (table: string) => `${quoteIdent(schema)}.${quoteIdent(table)}`;
  const tables = manifest.tables.filter((t) => t.table !== LEDGER);

  return rt.db.transaction(async (tx) => {
    try {
      await tx.query('SELECT (tenantry.own_tenant($1, $2)).tenant_id', [plan.tenantId, event.execution.id]);
    } catch (error) {
      throw mapControlError(error, plan.tenantId);
    }
    await tx.query(`SELECT set_config('search_path', $1, true)`, [quoteIdent(schema)]);
    const { rows: present } = await tx.query<{ table: string }>(
      `SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> $2`,
      [schema, LEDGER],
    );
    const existing = new Set(present.map((r) => r.table));
    const unknown = tables.filter((t) => !existing.has(t.table)).map((t) => t.table);
    if (unknown.length > 0) {
      throw new BlueprintError(`the backup has tables the blueprint does not make: ${unknown.join(', ')}`);
    }
    const { rows: foreignKeys } = await tx.query<{ table: string; name: string; definition: string }>(
      `SELECT c.relname AS table, con.conname AS name, pg_get_constraintdef(con.oid) AS definition
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND con.contype = 'f' ORDER BY 1, 2`,
      [schema],
    );
    await tx.script([
      ...foreignKeys.map((fk) => `ALTER TABLE ${qualified(fk.table)} DROP CONSTRAINT ${quoteIdent(fk.name)}`),
      ...[...existing].map((t) => `ALTER TABLE ${qualified(t)} DISABLE TRIGGER USER`),
    ]);

    let inserted = 0;
    for (const table of tables) {
      for (const part of table.parts) {
        const body = await store.get(part.key);
        if (createHash('sha256').update(body).digest('hex') !== part.sha256) {
          throw new BackupVerificationError(`backup part ${part.key} does not match its checksum`);
        }
        if (part.rows === 0) continue;
        const rows = body
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line) as unknown);
        const result = await tx.query(
          `INSERT INTO ${qualified(table.table)} OVERRIDING SYSTEM VALUE
           SELECT * FROM jsonb_populate_recordset(NULL::${qualified(table.table)}, $1::jsonb) ON CONFLICT DO NOTHING`,
          [JSON.stringify(rows)],
        );
        inserted += result.rowCount;
      }
    }

    await tx.script([
      ...foreignKeys.map(
        (fk) => `ALTER TABLE ${qualified(fk.table)} ADD CONSTRAINT ${quoteIdent(fk.name)} ${fk.definition}`,
      ),
      ...[...existing].map((t) => `ALTER TABLE ${qualified(t)} ENABLE TRIGGER USER`),
    ]);
    // Identity and serial sequences continue after the restored ids.
    const { rows: sequences } = await tx.query<{ table: string; column: string; sequence: string }>(
      `SELECT c.relname AS table, a.attname AS column,
              pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname) AS sequence
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
          AND pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname) IS NOT NULL`,
      [schema],
    );
    for (const s of sequences) {
      await tx.query(
        `SELECT setval($1::regclass, m) FROM (SELECT max(${quoteIdent(s.column)})::bigint AS m FROM ${qualified(s.table)}) x WHERE m IS NOT NULL`,
        [s.sequence],
      );
    }

    const counts = await tx.query<{ t: string; n: number }>(
      tables
        .map((t, i) => `SELECT $${i + 1}::text AS t, count(*)::int AS n FROM ${qualified(t.table)}`)
        .join(' UNION ALL '),
      tables.map((t) => t.table),
    );
    const live = new Map(counts.rows.map((r) => [r.t, r.n]));
    const off = tables.filter((t) => live.get(t.table) !== t.rows);
    if (off.length > 0) {
      throw new BackupVerificationError(
        `restored counts differ from the backup: ${off.map((t) => `${t.table} ${live.get(t.table)} of ${t.rows}`).join('; ')}`,
      );
    }
    return { tables: tables.length, rows: tables.reduce((n, t) => n + t.rows, 0), inserted };
  });
}
