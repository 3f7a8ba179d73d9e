import {
  BlueprintError,
  ConflictError,
  ControlMigrationChangedError,
  DatabaseError,
  DomainTakenError,
  ERROR_CATALOGUE,
  type ErrorName,
  MigrationChecksumError,
  NotFoundError,
  TenantBusyError,
  TenantExistsError,
  type TenantryError,
  TenantStateError,
} from '../errors';
import { quoteLiteral } from '../identifiers';
import type { SqlClient, SqlExecutor } from '../sql/port';
import { CONTROL_SCHEMA } from '../tenant-id';
import {
  type ControlMigrationFile,
  type ControlSql,
  type ControlSqlFile,
  hasStatements,
  loadControlSql,
} from './control-files';

/** Any session may try this at once: the advisory lock makes one apply and the others wait. */
const CONTROL_LOCK_KEY = 7_302_114_001;

/** One migration set and the tables that record it. */
interface MigrationSet {
  readonly migrations: readonly ControlMigrationFile[];
  readonly functions: readonly ControlSqlFile[];
  /** The functions' release (functions.lock.json): a build never replaces functions of a later one. */
  readonly functionsRelease: number;
  /** Records each applied migration: version, name, checksum. */
  readonly ledger: string;
  /** Records each applied function's checksum; absent for a set without functions. */
  readonly functionLedger?: string;
}

const Q = (table: string) => `${CONTROL_SCHEMA}.${table}`;

/** What the database recorded: each applied migration's checksum (null: applied before checksums). */
interface Recorded {
  readonly migrations: Map<number, string | null>;
  readonly functions: Map<string, string>;
  /** The highest functions release recorded (0: none). */
  release: number;
}

const missing = (error: unknown, codes: readonly string[]) =>
  error instanceof DatabaseError && codes.includes(error.code ?? '');

/**
 * One round trip when the ledgers are current. A database set up before checksums (no checksum
 * column, no function ledger: 42703, 42P01) is read the old way; one that never saw Tenantry
 * (3F000 no schema, 42P01 no table) has recorded nothing.
 */
async function recorded(db: SqlExecutor, set: MigrationSet): Promise<Recorded> {
  const result: Recorded = { migrations: new Map(), functions: new Map(), release: 0 };
  try {
    const { rows } = await db.query<{
      kind: string;
      key: string;
      checksum: string | null;
      release: number | null;
    }>(
      `SELECT 'm' AS kind, version::text AS key, checksum, NULL::integer AS release FROM ${Q(set.ledger)}` +
        (set.functionLedger
          ? ` UNION ALL SELECT 'f', name, checksum, release FROM ${Q(set.functionLedger)}`
          : ''),
    );
    for (const r of rows) {
      if (r.kind === 'm') result.migrations.set(Number(r.key), r.checksum);
      else if (r.checksum) {
        result.functions.set(r.key, r.checksum);
        result.release = Math.max(result.release, Number(r.release ?? 0));
      }
    }
    return result;
  } catch (error) {
    if (!missing(error, ['3F000', '42P01', '42703'])) throw error;
  }
  try {
    const { rows } = await db.query<{ version: number }>(`SELECT version FROM ${Q(set.ledger)}`);
    for (const r of rows) result.migrations.set(Number(r.version), null);
  } catch (error) {
    if (!missing(error, ['3F000', '42P01'])) throw error;
  }
  return result;
}

/** The bookkeeping tables, made or brought up to date (the checksum column came later). */
function ledgerDdl(set: MigrationSet): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${CONTROL_SCHEMA}`,
    `CREATE TABLE IF NOT EXISTS ${Q(set.ledger)} (
       version integer PRIMARY KEY, name text NOT NULL, checksum text,
       applied_at timestamptz NOT NULL DEFAULT now())`,
    `ALTER TABLE ${Q(set.ledger)} ADD COLUMN IF NOT EXISTS checksum text`,
    ...(set.functionLedger
      ? [
          `CREATE TABLE IF NOT EXISTS ${Q(set.functionLedger)} (
             name text PRIMARY KEY, checksum text NOT NULL, release integer NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now())`,
        ]
      : []),
  ];
}

function refuseChanged(set: MigrationSet, found: ReadonlyMap<number, string | null>): void {
  for (const m of set.migrations) {
    const checksum = found.get(m.version);
    if (checksum && checksum !== m.checksum)
      throw new ControlMigrationChangedError(m.file, checksum, m.checksum);
  }
}

/**
 * Brings one migration set up to date: refuses a released migration whose file changed, applies each
 * missing one in its own transaction, then in one more transaction records the checksums of
 * migrations applied before checksums existed and re-applies every function whose file changed.
 * Functions are left alone when the database knows a migration this build does not, or recorded
 * functions of a later release (functions.lock.json): a newer build is rolling out and owns them, and
 * an older container starting meanwhile must not put its functions back.
 */
async function install(db: SqlClient, set: MigrationSet): Promise<number> {
  const latest = Math.max(0, ...set.migrations.map((m) => m.version));
  const found = await recorded(db, set);
  refuseChanged(set, found.migrations);
  const newer = (release: number) =>
    release > set.functionsRelease || [...found.migrations.keys()].some((v) => v > latest);
  const staleFunctions = (fns: ReadonlyMap<string, string>, release: number) =>
    newer(release) ? [] : set.functions.filter((f) => fns.get(f.name) !== f.checksum);
  const pending = set.migrations.filter((m) => !found.migrations.has(m.version));
  const unsummed = [...found.migrations.values()].some((c) => c === null);
  if (pending.length === 0 && !unsummed && staleFunctions(found.functions, found.release).length === 0)
    return latest;

  // Every missing version is applied, not just those above the highest: nothing is skipped.
  for (const migration of pending) {
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [CONTROL_LOCK_KEY]);
      await tx.script(ledgerDdl(set));
      const { rows } = await tx.query<{ checksum: string | null }>(
        `SELECT checksum FROM ${Q(set.ledger)} WHERE version = $1`,
        [migration.version],
      );
      if (rows[0]) return refuseChanged(set, new Map([[migration.version, rows[0].checksum]]));
      if (hasStatements(migration.sql)) await tx.script([migration.sql]);
      await tx.query(`INSERT INTO ${Q(set.ledger)} (version, name, checksum) VALUES ($1, $2, $3)`, [
        migration.version,
        migration.name,
        migration.checksum,
      ]);
    });
  }

  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [CONTROL_LOCK_KEY]);
    await tx.script(ledgerDdl(set));
    // Migrations applied before checksums were recorded: this build's files are their record.
    const known = set.migrations.filter((m) => found.migrations.get(m.version) === null);
    if (known.length > 0)
      await tx.script([
        `UPDATE ${Q(set.ledger)} SET checksum = CASE version ${known
          .map((m) => `WHEN ${m.version} THEN ${quoteLiteral(m.checksum)}`)
          .join(' ')} END WHERE checksum IS NULL AND version IN (${known.map((m) => m.version).join(', ')})`,
      ]);
    if (!set.functionLedger) return;
    const { rows } = await tx.query<{ name: string; checksum: string; release: number }>(
      `SELECT name, checksum, release FROM ${Q(set.functionLedger)}`,
    );
    const stale = staleFunctions(
      new Map(rows.map((r) => [r.name, r.checksum])),
      Math.max(0, ...rows.map((r) => Number(r.release))),
    );
    if (stale.length === 0) return;
    await tx.script([
      ...stale.map((f) => f.sql),
      `INSERT INTO ${Q(set.functionLedger)} (name, checksum, release) VALUES ${stale
        .map((f) => `(${quoteLiteral(f.name)}, ${quoteLiteral(f.checksum)}, ${set.functionsRelease})`)
        .join(', ')}
       ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, release = EXCLUDED.release, applied_at = now()`,
    ]);
  });
  return latest;
}

const controlSet = (sql: ControlSql): MigrationSet => ({
  migrations: sql.migrations,
  functions: [...sql.functions, ...sql.generated],
  functionsRelease: sql.functionsRelease,
  ledger: 'schema_migrations',
  functionLedger: 'control_functions',
});

const localSet = (sql: ControlSql): MigrationSet => ({
  migrations: sql.local,
  functions: [],
  functionsRelease: 0,
  ledger: 'local_store_migrations',
});

const installed = new WeakMap<SqlClient, Map<string, Promise<number>>>();

function once(db: SqlClient, key: string, run: () => Promise<number>): Promise<number> {
  let byKey = installed.get(db);
  if (!byKey) {
    byKey = new Map();
    installed.set(db, byKey);
  }
  let pending = byKey.get(key);
  if (!pending) {
    pending = run();
    byKey.set(key, pending);
    const forget = byKey;
    pending.catch(() => forget.delete(key));
  }
  return pending;
}

/**
 * Brings the control schema up to date from its SQL files (registry/control-files.ts), once per
 * client, folder and process: 1 round trip when it is current; otherwise one transaction per missing
 * migration plus one that records checksums and re-applies changed functions. Throws
 * ControlMigrationChangedError, and changes nothing, when a released migration's file changed.
 */
export function ensureControlSchema(db: SqlClient, sql: ControlSql = loadControlSql()): Promise<number> {
  return once(db, `control:${sql.dir}`, () => install(db, controlSet(sql)));
}

/**
 * The local engine's execution store (executions, their events, their leases), on top of the
 * control schema: only the local engine calls this, so Aurora never gets these tables.
 */
export function ensureLocalStore(db: SqlClient, sql: ControlSql = loadControlSql()): Promise<number> {
  return once(db, `local:${sql.dir}`, async () => {
    await ensureControlSchema(db, sql);
    return install(db, localSet(sql));
  });
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
  BlueprintError: (e) => new BlueprintError(e.message, { cause: e }),
  TenantExistsError: (e) => new TenantExistsError(e.message, { cause: e }),
  ConflictError: (e) => new ConflictError(e.message, { cause: e }),
  DomainTakenError: (e) => new DomainTakenError(e.message, { cause: e, field: e.detail || 'domains' }),
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
