import {
  ConflictError,
  DatabaseError,
  ERROR_CATALOGUE,
  type ErrorName,
  MigrationChecksumError,
  NotFoundError,
  TenantBusyError,
  TenantExistsError,
  type TenantryError,
  TenantStateError,
} from '../errors';
import type { SqlClient } from '../sql/port';
import { CONTROL_SCHEMA } from '../tenant-id';
import { CONTROL_MIGRATIONS } from './control-sql';

/** Any session may try this at once: the advisory lock makes one apply and the others wait. */
const CONTROL_LOCK_KEY = 7_302_114_001;

const installed = new WeakMap<SqlClient, Promise<number>>();

/**
 * Brings the control schema up to date, once per client and process: 1 round trip when it is
 * current, plus one transaction per missing migration otherwise.
 */
export function ensureControlSchema(db: SqlClient): Promise<number> {
  let pending = installed.get(db);
  if (!pending) {
    pending = install(db);
    installed.set(db, pending);
    pending.catch(() => installed.delete(db));
  }
  return pending;
}

async function appliedVersions(db: SqlClient): Promise<Set<number>> {
  try {
    const { rows } = await db.query<{ version: number }>(
      `SELECT version FROM ${CONTROL_SCHEMA}.schema_migrations`,
    );
    return new Set(rows.map((r) => r.version));
  } catch (error) {
    // 3F000 no such schema, 42P01 no such table: a database that never saw Tenantry.
    if (error instanceof DatabaseError && (error.code === '3F000' || error.code === '42P01'))
      return new Set();
    throw error;
  }
}

async function install(db: SqlClient): Promise<number> {
  const latest = Math.max(0, ...CONTROL_MIGRATIONS.map((m) => m.version));
  const applied = await appliedVersions(db);
  // Every missing version is applied, not just those above the highest: nothing is skipped.
  const pending = CONTROL_MIGRATIONS.filter((m) => !applied.has(m.version));
  for (const migration of pending) {
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [CONTROL_LOCK_KEY]);
      await tx.script([
        `CREATE SCHEMA IF NOT EXISTS ${CONTROL_SCHEMA}`,
        `CREATE TABLE IF NOT EXISTS ${CONTROL_SCHEMA}.schema_migrations (
           version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      ]);
      const { rows } = await tx.query(
        `SELECT 1 FROM ${CONTROL_SCHEMA}.schema_migrations WHERE version = $1`,
        [migration.version],
      );
      if (rows.length > 0) return;
      await tx.script([migration.sql]);
      await tx.query(`INSERT INTO ${CONTROL_SCHEMA}.schema_migrations (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
    });
  }
  return latest;
}

/** The catalogue's error for each Tenantry SQLSTATE a control function raises. */
const BY_SQLSTATE: ReadonlyMap<string, ErrorName> = new Map(
  (Object.entries(ERROR_CATALOGUE) as [ErrorName, { sqlstates?: readonly string[] }][]).flatMap(
    ([name, spec]) => (spec.sqlstates ?? []).map((code): [string, ErrorName] => [code, name]),
  ),
);

/**
 * How each error a control function raises is made from the database's error: its message, and its
 * DETAIL where the function put what the error refers to (the execution that holds a tenant).
 */
export const FROM_CONTROL_ERROR: Readonly<
  Partial<Record<ErrorName, (error: DatabaseError, tenantId: string) => TenantryError>>
> = {
  TenantBusyError: (e, tenantId) => new TenantBusyError(tenantId, e.detail || 'unknown', { cause: e }),
  MigrationChecksumError: (e) => new MigrationChecksumError(e.message, { cause: e }),
  TenantExistsError: (e) => new TenantExistsError(e.message, { cause: e }),
  ConflictError: (e) => new ConflictError(e.message, { cause: e }),
  NotFoundError: (e) => new NotFoundError(e.message, { cause: e }),
  TenantStateError: (e) => new TenantStateError(e.message, { cause: e }),
  DatabaseError: (e) => e,
};

/** Turns the control functions' TY-class SQLSTATEs into the domain's typed errors (ERROR_CATALOGUE). */
export function mapControlError(error: unknown, tenantId: string): unknown {
  if (!(error instanceof DatabaseError) || !error.code) return error;
  const name = BY_SQLSTATE.get(error.code);
  const make = name ? FROM_CONTROL_ERROR[name] : undefined;
  return make ? make(error, tenantId) : error;
}
