import type { BlueprintCatalog } from '../blueprint';
import { diffCatalog, readCatalog } from '../catalog';
import { NotFoundError, TenantStateError } from '../errors';
import { lockOf } from '../provision/steps';
import { callControl, jsonArg } from '../registry/call';
import { ensureControlSchema } from '../registry/control';
import { getTenant, type TenantRecord } from '../registry/tenants';
import type { SqlClient, SqlExecutor } from '../sql/port';
import type { DriftReport, TenantDrift } from './schemas';

/**
 * Verify for a live tenant: its schema's catalog (shared/catalog.ts) against the lock of the
 * blueprint version it was provisioned at. The result is recorded on the tenant (tenants.drift,
 * through tenantry.record_drift): what differs, or NULL when nothing does; a clean verify clears it.
 */

export interface DriftRuntime {
  readonly db: SqlClient;
  readonly blueprints: BlueprintCatalog;
}

function verifiable(tenantId: string, tenant: TenantRecord | undefined): TenantRecord {
  if (!tenant) throw new NotFoundError(`no tenant '${tenantId}'`);
  if (tenant.status !== 'active')
    throw new TenantStateError(`tenant ${tenantId} is ${tenant.status}: only an active tenant is verified`);
  return tenant;
}

/**
 * Verifies one tenant and records the result. NotFoundError (404) for an unknown tenant;
 * TenantStateError (409) for one that is not active; BlueprintError (422) when its blueprint
 * version has no lock, or a stale one.
 */
export async function verifyTenant(
  rt: DriftRuntime,
  tenantId: string,
  actor = 'verify',
): Promise<DriftReport> {
  await ensureControlSchema(rt.db);
  const tenant = verifiable(tenantId, await getTenant(rt.db, tenantId));
  const found = await compareWithLock(rt.db, rt.blueprints, tenant);
  const drift: TenantDrift | null = found.drifted
    ? {
        blueprintVersion: tenant.blueprintVersion,
        missing: found.missing,
        unexpected: found.unexpected,
        changed: found.changed,
      }
    : null;
  const recorded = await callControl(rt.db, tenantId, 'record_drift', [
    tenantId,
    drift === null ? null : jsonArg(drift),
    actor,
  ]);
  return { ...found, checkedAt: new Date(recorded.checkedAt).toISOString() };
}

/**
 * The comparison alone, recording nothing: the tenant's schema as `db` sees it (inside a
 * transaction, too) against its blueprint version's lock. One catalog read.
 */
export async function compareWithLock(
  db: SqlExecutor,
  blueprints: BlueprintCatalog,
  tenant: Pick<TenantRecord, 'tenantId' | 'schemaName' | 'blueprint' | 'blueprintVersion'>,
): Promise<Omit<DriftReport, 'checkedAt'>> {
  const lock = lockOf(blueprints.get(tenant.blueprint), tenant.blueprintVersion);
  const actual = await readCatalog(db, tenant.schemaName);
  const diff = diffCatalog(lock.objects, actual.objects);
  return {
    tenantId: tenant.tenantId,
    schemaName: tenant.schemaName,
    blueprint: tenant.blueprint,
    blueprintVersion: tenant.blueprintVersion,
    drifted: diff.missing.length + diff.unexpected.length + diff.changed.length > 0,
    objects: lock.objects.length,
    ...diff,
  };
}

export interface FleetOptions {
  /** How many tenants are verified at once. @default 4 */
  readonly concurrency?: number;
  /** Called as each tenant is done (for progress output). */
  readonly onTenant?: (result: FleetEntry) => void;
}

export type FleetEntry =
  | { readonly tenantId: string; readonly report: DriftReport }
  | { readonly tenantId: string; readonly error: { readonly name: string; readonly message: string } };

export interface FleetSummary {
  readonly tenants: number;
  readonly clean: number;
  readonly drifted: number;
  /** Tenants that could not be verified (no lock, gone meanwhile, ...). */
  readonly failed: number;
  readonly results: readonly FleetEntry[];
}

export const DEFAULT_VERIFY_CONCURRENCY = 4;

/** Every active tenant, `concurrency` at a time; one tenant's failure is reported, not thrown. */
export async function verifyFleet(
  rt: DriftRuntime,
  options: FleetOptions = {},
  actor = 'verify',
): Promise<FleetSummary> {
  await ensureControlSchema(rt.db);
  const { rows } = await rt.db.query<{ tenant_id: string }>(
    "SELECT tenant_id FROM tenantry.tenants WHERE status = 'active' ORDER BY tenant_id",
  );
  const ids = rows.map((r) => r.tenant_id);
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_VERIFY_CONCURRENCY));
  const results: FleetEntry[] = new Array(ids.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < ids.length; i = next++) {
      const tenantId = ids[i] as string;
      let entry: FleetEntry;
      try {
        entry = { tenantId, report: await verifyTenant(rt, tenantId, actor) };
      } catch (error) {
        const e = error as Error;
        entry = { tenantId, error: { name: e.name, message: e.message } };
      }
      results[i] = entry;
      options.onTenant?.(entry);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
  const drifted = results.filter((r) => 'report' in r && r.report.drifted).length;
  const failed = results.filter((r) => 'error' in r).length;
  return { tenants: ids.length, clean: ids.length - drifted - failed, drifted, failed, results };
}
