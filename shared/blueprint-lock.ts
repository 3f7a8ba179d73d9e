import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Blueprint, type BlueprintLockVersion, LOCK_FILE } from './blueprint';
import { readCatalog } from './catalog';
import { DatabaseError, TransientDatabaseError } from './errors';
import { quoteIdent } from './identifiers';
import type { SqlClient, SqlTransaction } from './sql/port';
import { type SplitStatement, splitSqlStatements } from './sql/split';

class Rollback extends Error {}

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
 * this version. Leaves nothing behind.
 */
export async function computeBlueprintLock(
  db: SqlClient,
  blueprint: Blueprint,
): Promise<BlueprintLockVersion> {
  const scratch = `_tenantry_lock_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  let entry: BlueprintLockVersion | undefined;
  try {
    await db.transaction(async (tx) => {
      await tx.script([`CREATE SCHEMA ${quoteIdent(scratch)}`]);
      await tx.query(`SELECT set_config('search_path', $1, true)`, [quoteIdent(scratch)]);
      for (const m of blueprint.migrations) {
        for (const stmt of splitSqlStatements(m.sql))
          await runAt(tx, `${blueprint.name}/migrations/${m.name}`, stmt);
      }
      for (const i of blueprint.indexes)
        await runAt(tx, `${blueprint.name}/indexes.sql (${i.name})`, { sql: i.sql, line: 0 });
      const catalog = await readCatalog(tx, scratch);
      entry = {
        fingerprint: catalog.fingerprint,
        migrations: Object.fromEntries(blueprint.migrations.map((m) => [m.name, m.checksum])),
        objects: catalog.objects,
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
  const versions = { ...(existing.versions ?? {}), [String(blueprint.version)]: entry };
  writeFileSync(path, `${JSON.stringify({ blueprint: blueprint.name, versions }, null, 2)}\n`);
  return path;
}
