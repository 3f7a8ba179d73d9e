import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { LocalEngine } from '../../local/engine';
import { resetBackupStore } from '../../shared/blobs/connect';
import { BlueprintCatalog } from '../../shared/blueprint';
import { computeBlueprintLock, writeBlueprintLock } from '../../shared/blueprint-lock';
import { quoteIdent, quoteLiteral } from '../../shared/identifiers';
import type { SqlClient, SqlExecutor } from '../../shared/sql/port';
import { DEPROVISION_WORKFLOW, PROVISION_WORKFLOW } from '../../statemachine/render';

const FIXTURES = fileURLToPath(new URL('../fixtures/blueprints/', import.meta.url));

/** The shipped blueprints plus the test ones, each locked on `db`, in a folder `dispose()` removes. */
export async function lockedBlueprints(db: SqlClient, names: readonly string[]) {
  const root = mkdtempSync(join(tmpdir(), 'tenantry-roundtrip-blueprints-'));
  cpSync(fileURLToPath(new URL('../../shared/blueprints/', import.meta.url)), root, { recursive: true });
  for (const name of names) {
    cpSync(join(FIXTURES, name), join(root, name), { recursive: true });
    const blueprint = new BlueprintCatalog(root).get(name);
    writeBlueprintLock(blueprint, await computeBlueprintLock(db, blueprint));
  }
  return {
    root,
    catalog: new BlueprintCatalog(root),
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Points backups at a fresh folder for the test, and back afterwards. */
export function backupFolder() {
  const saved = process.env.TENANTRY_BACKUP_DIR;
  const dir = mkdtempSync(join(tmpdir(), 'tenantry-roundtrip-backups-'));
  process.env.TENANTRY_BACKUP_DIR = dir;
  resetBackupStore();
  return {
    dir,
    dispose() {
      if (saved === undefined) delete process.env.TENANTRY_BACKUP_DIR;
      else process.env.TENANTRY_BACKUP_DIR = saved;
      resetBackupStore();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Inserts rows given as each column's input text (null for NULL): no value passes through a JS number. */
export async function insertText(
  db: SqlExecutor,
  schema: string,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly (string | null)[])[],
): Promise<void> {
  if (rows.length === 0) return;
  const { rows: types } = await db.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, NULL) AS type FROM pg_attribute a
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
    [`${quoteIdent(schema)}.${quoteIdent(table)}`],
  );
  const typeOf = new Map(types.map((t) => [t.name, t.type]));
  const values = columns.map((c, i) => `(e->>${i})::${typeOf.get(c)}`).join(', ');
  await db.query(
    `INSERT INTO ${quoteIdent(schema)}.${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')})
     SELECT ${values} FROM jsonb_array_elements($1::jsonb) AS e`,
    [JSON.stringify(rows)],
  );
}

/**
 * Each plain table's row count and md5 over its rows' text in key order (the whole row's text for
 * a table without a primary key), read with ONLY: what must be identical after a restore.
 */
export async function tableDigests(db: SqlExecutor, schema: string): Promise<Record<string, string>> {
  const { rows: tables } = await db.query<{ table: string; key: string | null }>(
    `SELECT c.relname AS table,
            (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord)
               FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE i.indrelid = c.oid AND i.indisprimary) AS key
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname <> '_tenantry_migrations' ORDER BY 1`,
    [schema],
  );
  const out: Record<string, string> = {};
  for (const t of tables) {
    const order = t.key
      ? t.key
          .split(', ')
          .map((k) => `t.${k}`)
          .join(', ')
      : 't::text';
    const { rows } = await db.query<{ n: number | string; md5: string }>(
      `SELECT count(*) AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY ${order}), '')) AS md5
         FROM ONLY ${quoteIdent(schema)}.${quoteIdent(t.table)} t`,
    );
    out[t.table] = `${String(rows[0]?.n)} rows, md5 ${rows[0]?.md5}`;
  }
  return out;
}

/** Every sequence's last_value and is_called, as text. */
export async function sequenceStates(db: SqlExecutor, schema: string): Promise<Record<string, string>> {
  const { rows: names } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'S' ORDER BY 1`,
    [schema],
  );
  if (names.length === 0) return {};
  const { rows } = await db.query<{ name: string; state: string }>(
    names
      .map(
        (s) =>
          `SELECT ${quoteLiteral(s.name)}::text AS name, last_value::text || ' called=' || is_called::text AS state FROM ${quoteIdent(schema)}.${quoteIdent(s.name)}`,
      )
      .join(' UNION ALL '),
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.state]));
}

export async function deprovisionTenant(engine: LocalEngine, tenantId: string) {
  const run = await engine.start(DEPROVISION_WORKFLOW, tenantId, { tenantId, requestedBy: 'test' });
  const record = await run.done;
  return { record, progress: await engine.progress(DEPROVISION_WORKFLOW, record.executionId) };
}

export async function restoreTenant(engine: LocalEngine, tenantId: string) {
  const run = await engine.start(PROVISION_WORKFLOW, tenantId, {
    tenantId,
    restore: true,
    requestedBy: 'test',
  });
  const record = await run.done;
  expect(record.error ?? null, record.cause ?? '').toBeNull();
  return record;
}

/** md5 per column of one table in key order: which column a restore changed, when one did. */
export async function columnDigests(
  db: SqlExecutor,
  schema: string,
  table: string,
  key: string,
): Promise<Record<string, string>> {
  const { rows: columns } = await db.query<{ name: string }>(
    `SELECT attname AS name FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [`${quoteIdent(schema)}.${quoteIdent(table)}`],
  );
  const { rows } = await db.query<Record<string, string>>(
    `SELECT ${columns
      .map(
        (c) =>
          `md5(string_agg(coalesce(t.${quoteIdent(c.name)}::text, '<null>'), E'\\n' ORDER BY t.${quoteIdent(key)})) AS ${quoteIdent(c.name)}`,
      )
      .join(', ')} FROM ONLY ${quoteIdent(schema)}.${quoteIdent(table)} t`,
  );
  return rows[0] ?? {};
}
