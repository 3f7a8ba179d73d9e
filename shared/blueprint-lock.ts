import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Blueprint, type BlueprintLockVersion, LOCK_FILE } from './blueprint';
import { readCatalog } from './catalog';
import { quoteIdent } from './identifiers';
import type { SqlClient } from './sql/port';

class Rollback extends Error {}

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
      for (const m of blueprint.migrations) await tx.script([m.sql]);
      await tx.script(blueprint.indexes.map((i) => i.sql));
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
