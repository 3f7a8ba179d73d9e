import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Blueprint, type BlueprintLockVersion, LOCK_FILE } from './blueprint';
import { readCatalog } from './catalog';
import { BlueprintError, DatabaseError, TransientDatabaseError } from './errors';
import { quoteIdent } from './identifiers';
import type { RoutineReport } from './provision/schemas';
import { callControl, jsonArg } from './registry/call';
import { ensureControlSchema } from './registry/control';
import type { SqlClient, SqlTransaction } from './sql/port';
import { type SplitStatement, splitSqlStatements } from './sql/split';

class Rollback extends Error {}

/** A lock entry and what was done to the blueprint's routines (not written to the lock file). */
export interface BlueprintLockResult extends BlueprintLockVersion {
  readonly routines: readonly RoutineReport[];
}

/**
 * Runs one statement of a blueprint file; a failure names the file and line (the line of the
 * error's position when Postgres gives one) and keeps its SQLSTATE.
 */
async function runAt(tx: SqlTransaction, file: string, stmt: SplitStatement): Promise<void> {
  try {
    await tx.script([stmt.sql]);
  } catch (error) {
    if (!(error instanceof DatabaseError || error instanceof TransientDatabaseError)) throw error;
    const position = Number((error.cause as { position?: unknown } | undefined)?.position ?? 0);
    const before = position > 0 ? stmt.sql.slice(0, position - 1) : '';
    const line = stmt.line + (before.match(/\n/g)?.length ?? 0);
    const where = stmt.line > 0 ? `${file} line ${line}` : file;
    const message = `${where}: ${error.message}`;
    throw error instanceof DatabaseError
      ? new DatabaseError(message, error.code, { cause: error, detail: error.detail })
      : new TransientDatabaseError(message, error.code, { cause: error });
  }
}

/**
 * Applies the blueprint's migrations and indexes to a scratch schema inside a transaction that is
 * rolled back, and reads the catalog they produce: what Verify will demand of every tenant of
 * this version. The routines are secured as SyncTables secures a tenant's, by the same control
 * function (secure_routines.sql, hence the control schema): an undeclared SECURITY DEFINER, or a
 * declaration that names no SECURITY DEFINER routine, is a BlueprintError. Leaves nothing behind:
 * the scratch schema and the role made for it (the owner of its declared SECURITY DEFINER routines,
 * as a tenant's role is) go with the rolled-back transaction.
 */
export async function computeBlueprintLock(
  db: SqlClient,
  blueprint: Blueprint,
): Promise<BlueprintLockResult> {
  await ensureControlSchema(db);
  const scratch = `_tenantry_lock_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  let entry: BlueprintLockResult | undefined;
  try {
    await db.transaction(async (tx) => {
      await tx.script([`CREATE SCHEMA ${quoteIdent(scratch)}`]);
      await tx.query(`SELECT set_config('search_path', $1, true)`, [quoteIdent(scratch)]);
      for (const m of blueprint.migrations) {
        for (const stmt of splitSqlStatements(m.sql))
          await runAt(tx, `${blueprint.name}/migrations/${m.name}`, stmt);
      }
      const secured = await callControl(tx, blueprint.name, 'secure_routines', [
        scratch,
        jsonArg(blueprint.securityDefiner),
      ]).catch((error: unknown) => {
        throw error instanceof BlueprintError
          ? new BlueprintError(`blueprint ${blueprint.name}: ${error.message}`, { cause: error })
          : error;
      });
      if (secured.unmatchedDeclarations.length > 0) {
        throw new BlueprintError(
          `blueprint ${blueprint.name}: blueprint.json "securityDefiner" lists ${secured.unmatchedDeclarations.join(', ')}, ` +
            'which the migrations do not create as SECURITY DEFINER (write each as name(identity arguments))',
        );
      }
      for (const i of blueprint.indexes)
        await runAt(tx, `${blueprint.name}/indexes.sql (${i.name})`, { sql: i.sql, line: 0 });
      const catalog = await readCatalog(tx, scratch);
      entry = {
        fingerprint: catalog.fingerprint,
        migrations: Object.fromEntries(blueprint.migrations.map((m) => [m.name, m.checksum])),
        objects: catalog.objects,
        routines: secured.routines,
      };
      throw new Rollback();
    });
  } catch (error) {
    if (!(error instanceof Rollback)) throw error;
  }
  if (!entry) throw new Error('blueprint lock produced no catalog');
  return entry;
}

/** Records the entry for the blueprint's current version in its lock file; older versions stay. */
export function writeBlueprintLock(blueprint: Blueprint, entry: BlueprintLockVersion): string {
  const path = join(blueprint.dir, LOCK_FILE);
  const existing = existsSync(path)
    ? (JSON.parse(readFileSync(path, 'utf8')) as { versions?: Record<string, BlueprintLockVersion> })
    : {};
  const { fingerprint, migrations, objects } = entry;
  const versions = {
    ...(existing.versions ?? {}),
    [String(blueprint.version)]: { fingerprint, migrations, objects },
  };
  writeFileSync(path, `${JSON.stringify({ blueprint: blueprint.name, versions }, null, 2)}\n`);
  return path;
}

const ROUTINE_ACTIONS: Readonly<Record<RoutineReport['action'], string>> = {
  pinned: 'pinned: search_path = <tenant schema>, pg_temp',
  'from-current': 'kept: search_path FROM CURRENT (the tenant schema)',
  definer: "declared SECURITY DEFINER: pinned, owned by the tenant's role",
  skipped: 'left as it is: not sql or plpgsql',
};

/** What `blueprint lock` prints about the routines: a count, then one line per routine. */
export function routineReportLines(routines: readonly RoutineReport[]): string[] {
  if (routines.length === 0) return ['routines: none'];
  const count = (a: RoutineReport['action']) => routines.filter((r) => r.action === a).length;
  return [
    `routines: ${routines.length} (${count('pinned')} pinned, ${count('from-current')} FROM CURRENT, ` +
      `${count('definer')} SECURITY DEFINER, ${count('skipped')} skipped)`,
    ...routines.map((r) => `  ${r.kind} ${r.routine} [${r.language}]: ${ROUTINE_ACTIONS[r.action]}`),
  ];
}
