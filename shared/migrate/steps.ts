import type { z } from 'zod';
import type { Blueprint } from '../blueprint';
import { diffCatalog, readCatalog } from '../catalog';
import { MigrationChecksumError, NotFoundError, ValidationError, VerificationError } from '../errors';
import { changeAndPublish } from '../events/publisher';
import { quoteIdent } from '../identifiers';
import { causeMessage } from '../progress';
import type { StepEvent } from '../provision/schemas';
import { assertCatalogMatches, lockOf, migrationsArg, migrationsUpTo } from '../provision/steps';
import { callControl, jsonArg } from '../registry/call';
import { ensureControlSchema } from '../registry/control';
import { getTenant } from '../registry/tenants';
import type { Runtime } from '../runtime';
import { caughtFailure, stepOutput } from '../step-state';
import { tenantIdProblem } from '../tenant-id';
import { parseOrThrow } from '../validation';
import { MigrateOutputSchemas, type MigrateOutputs, type MigratePlan, MigrateRequestSchema } from './schemas';

/**
 * The Migrate workflow's steps: one tenant from its blueprint version to a newer one.
 * Validate claims it (status migrating), Plan checks its ledger and lists what is pending,
 * ApplyMigrations runs them in ONE transaction under lock_timeout and statement_timeout and checks
 * the catalog against the target version's lock before it commits, Verify reads the committed
 * catalog again, Record makes the tenant active at its new version. Any failure goes to Cleanup,
 * which makes the tenant active again, on the version that is committed, with the error recorded.
 */

function output<K extends keyof MigrateOutputs>(event: StepEvent, step: K): MigrateOutputs[K] {
  return stepOutput(event, step, MigrateOutputSchemas[step] as unknown as z.ZodType<MigrateOutputs[K]>);
}

export function migratePlanOf(event: StepEvent): MigratePlan {
  const { claimed: _c, ...plan } = output(event, 'Validate');
  return plan;
}

const versionLabel = (plan: MigratePlan) => `${plan.blueprint} v${plan.toVersion}`;

/** Validate: the request, the target version (newer, locked), then the claim on the tenant. */
export async function validate(rt: Runtime, event: StepEvent): Promise<MigrateOutputs['Validate']> {
  const { steps: _s, failure: _f, ...input } = event.state;
  const request = parseOrThrow(MigrateRequestSchema, input);
  await ensureControlSchema(rt.db);
  const tenant = await getTenant(rt.db, request.tenantId);
  if (!tenant) throw new NotFoundError(`tenant '${request.tenantId}' does not exist`, { field: 'tenantId' });
  const blueprint = rt.blueprints.get(tenant.blueprint);
  const toVersion = request.targetVersion ?? blueprint.version;
  if (toVersion > blueprint.version) {
    throw new ValidationError([
      {
        field: 'targetVersion',
        reason: `blueprint ${blueprint.name} has no v${toVersion} (its newest is v${blueprint.version})`,
      },
    ]);
  }
  lockOf(blueprint, toVersion);
  const claim = await callControl(rt.db, request.tenantId, 'claim_migration', [
    jsonArg({
      tenantId: request.tenantId,
      executionId: event.execution.id,
      targetVersion: toVersion,
      requestedBy: request.requestedBy,
      rolloutId: request.rolloutId ?? null,
    }),
  ]);
  return {
    tenantId: request.tenantId,
    schemaName: claim.schemaName,
    blueprint: claim.blueprint,
    fromVersion: claim.fromVersion,
    toVersion: claim.toVersion,
    requestedBy: request.requestedBy,
    lockTimeoutMs: request.lockTimeoutMs,
    statementTimeoutMs: request.statementTimeoutMs,
    claimed: claim.claimed,
  };
}

function blueprintOf(rt: Runtime, plan: MigratePlan): Blueprint {
  return rt.blueprints.get(plan.blueprint);
}

/** Plan: the tenant's ledger against the blueprint (every applied migration unchanged), and what is pending. */
export async function plan(rt: Runtime, event: StepEvent): Promise<MigrateOutputs['Plan']> {
  const plan = migratePlanOf(event);
  const blueprint = blueprintOf(rt, plan);
  const { rows } = await rt.db.query<{ version: number; name: string; checksum: string }>(
    `SELECT version, name, checksum FROM ${quoteIdent(plan.schemaName)}._tenantry_migrations ORDER BY version`,
  );
  const wanted = migrationsUpTo(blueprint, plan.toVersion);
  const byVersion = new Map(blueprint.migrations.map((m) => [m.version, m]));
  const problems: string[] = [];
  for (const applied of rows) {
    const m = byVersion.get(applied.version);
    if (!m)
      problems.push(
        `migration ${applied.version} (${applied.name}) is applied but missing from the blueprint`,
      );
    else if (m.checksum !== applied.checksum)
      problems.push(
        `migration ${m.name} was changed after it was applied (applied ${applied.checksum}, blueprint ${m.checksum})`,
      );
    else if (applied.version > plan.toVersion)
      problems.push(`migration ${m.name} is applied, but it is past the target v${plan.toVersion}`);
  }
  if (problems.length > 0) {
    throw new MigrationChecksumError(
      `schema ${plan.schemaName} cannot be migrated to ${versionLabel(plan)}: ${problems.join('; ')}`,
      { problems },
    );
  }
  const done = new Set(rows.map((r) => r.version));
  const pending = wanted
    .filter((m) => !done.has(m.version))
    .map(({ version, name, checksum }) => ({ version, name, checksum }));
  return { fromVersion: plan.fromVersion, toVersion: plan.toVersion, pending, checked: rows.length };
}

/**
 * ApplyMigrations: every pending migration, the blueprint's missing indexes and the registry's
 * version in one transaction, under the request's lock_timeout (a lock held by the app's traffic
 * fails fast with 55P03, a transient error the workflow retries with backoff, instead of queueing
 * the app behind the migration) and statement_timeout. The catalog is checked against the target
 * version's lock before the commit: a schema that would not verify is never committed.
 */
export async function applyMigrations(
  rt: Runtime,
  event: StepEvent,
): Promise<MigrateOutputs['ApplyMigrations']> {
  const plan = migratePlanOf(event);
  const blueprint = blueprintOf(rt, plan);
  const lock = lockOf(blueprint, plan.toVersion);
  return rt.db.transaction(async (tx) => {
    await tx.query(`SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)`, [
      `${plan.lockTimeoutMs}ms`,
      `${plan.statementTimeoutMs}ms`,
    ]);
    const result = await callControl(tx, plan.tenantId, 'apply_migrations', [
      plan.tenantId,
      event.execution.id,
      // What the tenant has is only checked: a school-erp 0001 is 70 KB of statements.
      jsonArg(migrationsArg(blueprint, plan.toVersion, plan.fromVersion)),
      jsonArg(blueprint.securityDefiner),
      jsonArg(blueprint.indexes.map(({ name, sql }) => ({ name, sql }))),
    ]);
    const catalog = await readCatalog(tx, plan.schemaName);
    assertCatalogMatches(plan.schemaName, versionLabel(plan), diffCatalog(lock.objects, catalog.objects));
    return { ...result, fingerprint: catalog.fingerprint };
  });
}

/**
 * Verify: what was committed is the target version. The catalog is not read a second time: the
 * transaction that committed it compared it whole with the target's lock (ApplyMigrations), and a
 * read of a school-erp catalog costs two to three times the migration itself. What Verify reads is
 * what that comparison cannot see from inside: that the commit happened as planned. The tenant is
 * still this execution's (migrating) at the target version in the registry, its ledger holds exactly
 * the target's migrations with the blueprint's checksums, and the fingerprint read before the commit
 * is the lock's. Drift after the commit is the drift check's business (GET /tenants/{id}/drift).
 */
export async function verify(rt: Runtime, event: StepEvent): Promise<MigrateOutputs['Verify']> {
  const plan = migratePlanOf(event);
  const blueprint = blueprintOf(rt, plan);
  const lock = lockOf(blueprint, plan.toVersion);
  const applied = output(event, 'ApplyMigrations');
  const { rows } = await rt.db.query<{ status: string; version: number; ledger: string }>(
    `SELECT t.status, t.blueprint_version AS version,
            (SELECT coalesce(jsonb_agg(jsonb_build_array(m.version, m.checksum) ORDER BY m.version), '[]')::text
               FROM ${quoteIdent(plan.schemaName)}._tenantry_migrations m) AS ledger
       FROM tenantry.tenants t WHERE t.tenant_id = $1`,
    [plan.tenantId],
  );
  const row = rows[0];
  const label = versionLabel(plan);
  const expected = migrationsUpTo(blueprint, plan.toVersion).map((m) => [m.version, m.checksum]);
  const problems: string[] = [];
  if (!row) problems.push('the tenant is missing from the registry');
  else {
    if (row.status !== 'migrating') problems.push(`the tenant is ${row.status}, not migrating`);
    if (Number(row.version) !== plan.toVersion)
      problems.push(`the registry has it at v${row.version}, not v${plan.toVersion}`);
    // Versions are small integers, so they read back as numbers unchanged.
    const ledger = JSON.stringify(JSON.parse(row.ledger));
    if (ledger !== JSON.stringify(expected))
      problems.push(`its ledger ${ledger} is not the target's ${JSON.stringify(expected)}`);
  }
  if (applied.fingerprint !== lock.fingerprint)
    problems.push(`the catalog fingerprint ${applied.fingerprint} is not the lock's ${lock.fingerprint}`);
  if (problems.length > 0) {
    throw new VerificationError(
      `schema ${plan.schemaName} is not at ${label} after the commit: ${problems.join('; ')}`,
      [],
      [],
    );
  }
  return { fingerprint: applied.fingerprint, objects: lock.objects.length, migrations: expected.length };
}

/** Record: the tenant is active at its new version; the migration succeeded. */
export async function record(rt: Runtime, event: StepEvent): Promise<MigrateOutputs['Record']> {
  const plan = migratePlanOf(event);
  const verified = output(event, 'Verify');
  // TenantMigrated in the same transaction: the apps' caches drop the old version at once.
  return changeAndPublish(rt.db, async (tx) => {
    const recorded = await callControl(tx, plan.tenantId, 'record_migration', [
      plan.tenantId,
      event.execution.id,
      verified.fingerprint,
    ]);
    return {
      result: recorded,
      event: {
        type: 'TenantMigrated',
        key: `TenantMigrated:${event.execution.id}`,
        detail: { tenantId: plan.tenantId, version: recorded.version, executionId: event.execution.id },
      },
    };
  });
}

export interface MigrateCleanupOutput {
  readonly step: string;
  readonly error: string;
  readonly cause: string;
  readonly owned: boolean;
  /** The tenant's blueprint version after the failure (the committed one). */
  readonly version: number | null;
}

/**
 * Cleanup (the Catch target): the tenant back to active on the version that is committed, with
 * the step and error on the tenant and its migration record. ApplyMigrations' transaction rolled
 * back, so that is the old version unless a step after it failed. Never touches a tenant it does
 * not hold.
 */
export async function cleanup(rt: Runtime, event: StepEvent): Promise<MigrateCleanupOutput> {
  const base = caughtFailure(event);
  const { step } = base;
  const tenantId = event.state.tenantId;
  if (typeof tenantId !== 'string' || tenantIdProblem(tenantId))
    return { ...base, owned: false, version: null };
  await ensureControlSchema(rt.db);
  const result = await callControl(rt.db, tenantId, 'migrate_cleanup', [
    tenantId,
    event.execution.id,
    step,
    jsonArg({ error: base.error, cause: causeMessage(base.cause) }),
  ]);
  return { ...base, owned: result.owned, version: result.version };
}
