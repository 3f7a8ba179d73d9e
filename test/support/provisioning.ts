import { expect } from 'vitest';
import { type ExecutionRecord, LocalEngine, type LocalEngineOptions } from '../../local/engine';
import type { BlueprintCatalog } from '../../shared/blueprint';
import { readCatalog } from '../../shared/catalog';
import type { SqlExecutor } from '../../shared/sql/port';
import { PROVISION_WORKFLOW } from '../../statemachine/render';

/** The steps every request runs (template steps aside). */
export const STEPS = [
  'Validate',
  'CreateSchema',
  'SyncTables',
  'CreateIndexes',
  'Seed',
  'Verify',
  'Register',
] as const;
/** The steps only a request with a template runs. */
export const TEMPLATE_STEPS = ['ApplySettings', 'CreateAdminUser', 'LoadInitialData'] as const;

export function engineFor(
  db: LocalEngineOptions['db'],
  options: Omit<LocalEngineOptions, 'db'> = {},
): LocalEngine {
  return new LocalEngine({ db, retryDelayMs: 0, ...options });
}

export async function provision(
  engine: LocalEngine,
  tenantId: string,
  blueprint = 'docex',
  extra: Record<string, unknown> = {},
): Promise<{ record: ExecutionRecord; progress: Awaited<ReturnType<LocalEngine['progress']>> }> {
  const run = await engine.start(PROVISION_WORKFLOW, tenantId, {
    tenantId,
    displayName: `Tenant ${tenantId}`,
    blueprint,
    requestedBy: 'test',
    ...extra,
  });
  const record = await run.done;
  return { record, progress: await engine.progress(PROVISION_WORKFLOW, record.executionId) };
}

export async function schemaExists(db: SqlExecutor, schema: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  return rows.length === 1;
}

export async function tenantSchemas(db: SqlExecutor): Promise<string[]> {
  const { rows } = await db.query<{ nspname: string }>(
    "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant\\_%' ORDER BY 1",
  );
  return rows.map((r) => r.nspname);
}

export async function registryRow(db: SqlExecutor, tenantId: string) {
  const { rows } = await db.query('SELECT * FROM tenantry.tenants WHERE tenant_id = $1', [tenantId]);
  return rows[0];
}

/** Row counts of every seeded table, read from the database. */
export async function seedCounts(
  db: SqlExecutor,
  catalog: BlueprintCatalog,
  blueprint: string,
  schema: string,
) {
  const counts: Record<string, number> = {};
  for (const t of catalog.get(blueprint).seed) {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}"."${t.table}"`);
    counts[t.table] = rows[0]?.n ?? -1;
  }
  return counts;
}

export function expectedSeedCounts(catalog: BlueprintCatalog, blueprint: string) {
  return Object.fromEntries(catalog.get(blueprint).seed.map((t) => [t.table, t.rows.length]));
}

/** The tenant's schema matches its blueprint's lock exactly, seeds are there once, the ledger has each migration once. */
export async function expectProvisioned(
  db: SqlExecutor,
  catalog: BlueprintCatalog,
  blueprint: string,
  schema: string,
) {
  const bp = catalog.get(blueprint);
  const catalogNow = await readCatalog(db, schema);
  expect(catalogNow.fingerprint).toBe(bp.lock[String(bp.version)]?.fingerprint);
  expect(await seedCounts(db, catalog, blueprint, schema)).toEqual(expectedSeedCounts(catalog, blueprint));
  const ledger = await db.query<{ version: number; checksum: string }>(
    `SELECT version, checksum FROM "${schema}"._tenantry_migrations ORDER BY version`,
  );
  expect(ledger.rows).toEqual(bp.migrations.map((m) => ({ version: m.version, checksum: m.checksum })));
}
