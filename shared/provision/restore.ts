import { countLines } from '../backup/copy-text';
import { columnsFor, loadPart, restoreSequences } from '../backup/load';
import {
  AnyBackupManifestSchema,
  applyCopySettings,
  type LegacyBackupManifest,
  partChecksum,
} from '../backup/manifest';
import { backupStore } from '../blobs/connect';
import type { BlobStore } from '../blobs/port';
import { BackupVerificationError, BlueprintError, ValidationError } from '../errors';
import { quoteIdent } from '../identifiers';
import { mapControlError } from '../registry/control';
import type { Runtime } from '../runtime';
import type { SqlTransaction } from '../sql/port';
import { parseOrThrow } from '../validation';
import type { StepEvent, StepOutputs } from './schemas';
import { planOf } from './steps';

/** Tenantry's own ledger: SyncTables has just written it, so the backup's copy is not loaded. */
const LEDGER = '_tenantry_migrations';
/** The audit action that marks a restore's rows as loaded: a retry after a lost response loads nothing twice. */
const LOADED = 'restore.rows_loaded';

async function verifiedPart(store: BlobStore, part: { key: string; sha256: string }): Promise<string> {
  const body = await store.get(part.key);
  if (partChecksum(body) !== part.sha256) {
    throw new BackupVerificationError(`backup part ${part.key} does not match its checksum`);
  }
  return body;
}

/**
 * RestoreRows: loads every row of the tenant's backup into the freshly built schema, in one
 * transaction, and puts every sequence back where it was. Foreign keys are dropped for the load
 * and added back afterwards, so Postgres checks every restored row against them whatever order the
 * tables come in; the blueprint's own triggers are off meanwhile, so loading audit rows does not
 * write new ones. Each part's checksum and row count is checked before it is loaded, and the live
 * counts must equal the manifest's at the end. The load is recorded in the audit trail in the same
 * transaction, so a retry after a lost response loads nothing twice.
 */
export async function restoreRows(rt: Runtime, event: StepEvent): Promise<StepOutputs['RestoreRows']> {
  const plan = planOf(event);
  if (!plan.restore)
    throw new ValidationError([{ field: 'restore', reason: 'this step runs only for a restore' }]);
  const store = await backupStore();
  const manifest = parseOrThrow(
    AnyBackupManifestSchema,
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
    const { rows: loadedBefore } = await tx.query<{ detail: StepOutputs['RestoreRows'] }>(
      `SELECT detail FROM tenantry.audit_log WHERE tenant_id = $1 AND execution_id = $2 AND action = $3 LIMIT 1`,
      [plan.tenantId, event.execution.id, LOADED],
    );
    if (loadedBefore[0]) return loadedBefore[0].detail;

    await tx.query(`SELECT set_config('search_path', $1, true)`, [quoteIdent(schema)]);
    await applyCopySettings(tx);
    const { rows: present } = await tx.query<{ table: string; kind: string }>(
      `SELECT c.relname AS table, c.relkind::text AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> $2`,
      [schema, LEDGER],
    );
    const plain = new Set(present.filter((r) => r.kind === 'r').map((r) => r.table));
    const unknown = tables.filter((t) => !plain.has(t.table)).map((t) => t.table);
    if (unknown.length > 0) {
      throw new BlueprintError(`the backup has tables the blueprint does not make: ${unknown.join(', ')}`);
    }
    const { rows: foreignKeys } = await tx.query<{ table: string; name: string; definition: string }>(
      `SELECT c.relname AS table, con.conname AS name, pg_get_constraintdef(con.oid) AS definition
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND con.contype = 'f' AND con.conparentid = 0 ORDER BY 1, 2`,
      [schema],
    );
    await tx.script([
      ...foreignKeys.map((fk) => `ALTER TABLE ${qualified(fk.table)} DROP CONSTRAINT ${quoteIdent(fk.name)}`),
      ...present.map((t) => `ALTER TABLE ${qualified(t.table)} DISABLE TRIGGER USER`),
    ]);

    let inserted = 0;
    if (manifest.format === 'tenantry-backup/2') {
      for (const table of manifest.tables.filter((t) => t.table !== LEDGER)) {
        const columns = tx.copyIn ? undefined : await columnsFor(tx, schema, table);
        for (const part of table.parts) {
          const body = await verifiedPart(store, part);
          if (countLines(body) !== part.rows) {
            throw new BackupVerificationError(
              `backup part ${part.key} has ${countLines(body)} rows, its manifest ${part.rows}`,
            );
          }
          inserted += await loadPart(tx, schema, table, body, columns);
        }
      }
    } else {
      inserted = await loadLegacy(tx, store, schema, manifest);
    }

    await tx.script([
      ...foreignKeys.map(
        (fk) => `ALTER TABLE ${qualified(fk.table)} ADD CONSTRAINT ${quoteIdent(fk.name)} ${fk.definition}`,
      ),
      ...present.map((t) => `ALTER TABLE ${qualified(t.table)} ENABLE TRIGGER USER`),
    ]);
    // Every sequence exactly where it was; one that lagged its own column (rows written with
    // explicit keys) also moves past that column's largest value, so the next insert succeeds.
    if (manifest.format === 'tenantry-backup/2') await restoreSequences(tx, schema, manifest.sequences);
    await tx.query(`SELECT tenantry.advance_integer_sequences($1)`, [schema]);

    if (tables.length > 0) {
      const counts = await tx.query<{ t: string; n: number | string }>(
        tables
          .map((t, i) => `SELECT $${i + 1}::text AS t, count(*) AS n FROM ONLY ${qualified(t.table)}`)
          .join(' UNION ALL '),
        tables.map((t) => t.table),
      );
      const live = new Map(counts.rows.map((r) => [r.t, Number(r.n)]));
      const off = tables.filter((t) => live.get(t.table) !== t.rows);
      if (off.length > 0) {
        throw new BackupVerificationError(
          `restored counts differ from the backup: ${off.map((t) => `${t.table} ${live.get(t.table)} of ${t.rows}`).join('; ')}`,
        );
      }
    }
    // Fresh statistics: the planner (a backup's keyset pages among it) knows the restored tables.
    if (present.length > 0) await tx.script([`ANALYZE ${present.map((t) => qualified(t.table)).join(', ')}`]);
    const result = { tables: tables.length, rows: tables.reduce((n, t) => n + t.rows, 0), inserted };
    await tx.query('SELECT tenantry.audit($1, $2, NULL, $3, $4::jsonb)', [
      plan.tenantId,
      LOADED,
      event.execution.id,
      JSON.stringify(result),
    ]);
    return result;
  });
}

/**
 * A format-1 backup (NDJSON of `to_jsonb(row)`): the lines go to Postgres as they are, so its own
 * JSON parser (exact for every number) reads them; nothing is parsed in JavaScript.
 */
async function loadLegacy(
  tx: SqlTransaction,
  store: BlobStore,
  schema: string,
  manifest: LegacyBackupManifest,
): Promise<number> {
  let inserted = 0;
  for (const table of manifest.tables.filter((t) => t.table !== LEDGER)) {
    const target = `${quoteIdent(schema)}.${quoteIdent(table.table)}`;
    for (const part of table.parts) {
      const body = await verifiedPart(store, part);
      const lines = body.split('\n').filter((line) => line !== '');
      if (lines.length === 0) continue;
      const result = await tx.query(
        `INSERT INTO ${target} OVERRIDING SYSTEM VALUE
         SELECT * FROM jsonb_populate_recordset(NULL::${target}, $1::jsonb) ON CONFLICT DO NOTHING`,
        [`[${lines.join(',')}]`],
      );
      inserted += result.rowCount;
    }
  }
  return inserted;
}
