import { cleanup as deprovisionCleanup } from '../deprovision/steps';
import type { WorkflowEngine } from '../engine/port';
import { eventPublisher } from '../events/publisher';
import { quoteIdent } from '../identifiers';
import { cleanup as migrateCleanup } from '../migrate/steps';
import { putMetric } from '../observability/metrics';
import { type StepEvent, StepEventSchema } from '../provision/schemas';
import { cleanup as provisionCleanup } from '../provision/steps';
import { ensureControlSchema } from '../registry/control';
import { TENANT_STATUSES } from '../registry/lifecycle';
import type { Runtime } from '../runtime';
import { WORKFLOWS, type WorkflowName } from '../workflows';
import {
  FINDING_KINDS,
  type Finding,
  type FindingKind,
  type Reconciliation,
  recordReconciliation,
} from './records';

/**
 * The reconciler: compares the registry, the tenant schemas in the database and the executions,
 * and reports what disagrees. With `repair` it fixes what is safe to fix, and only that:
 *
 * | finding | what it means | repair |
 * | --- | --- | --- |
 * | `row-without-schema` | a live tenant (active, disabled, migrating, scheduled) whose schema is gone | none: a person decides (restore it, or deprovision) |
 * | `schema-without-row` | a `tenant_*` schema no live registry row names | none: it may hold data, and it has no verified backup |
 * | `stuck` | a tenant provisioning, deprovisioning (or disabled by a Deprovision) or migrating with no live execution | that workflow's Cleanup, as if its run had failed |
 * | `overdue-execution` | a local run RUNNING past its workflow's timeout (Step Functions ends those itself) | stopped, as Step Functions' timeout would; the tenant it held is then `stuck` and cleaned up |
 * | `version-drift` | an active tenant whose ledger's newest migration is not its registry version | none: recorded for a person (migrate or verify) |
 * | `catalog-drift` | an active tenant whose last verify found drift (tenants.drift) | none: `tenantry verify` says what |
 *
 * It never drops a schema. Each run is recorded in tenantry.reconciliations, and a run that found
 * something publishes `ReconciliationFound` (its counts) on the event bus (the outbox locally).
 */

export interface ReconcileRuntime extends Runtime {
  readonly engine: WorkflowEngine;
}

/** A tenant in a transitional status belongs to the run of this workflow. */
const TRANSITIONAL: Readonly<Record<string, WorkflowName>> = {
  provisioning: 'Provision',
  deprovisioning: 'Deprovision',
  migrating: 'Migrate',
};

const CLEANUP: Readonly<Record<string, (rt: Runtime, event: StepEvent) => Promise<{ owned: boolean }>>> = {
  Provision: provisionCleanup,
  Deprovision: deprovisionCleanup,
  Migrate: migrateCleanup,
};

const ORPHANED = 'no live execution holds the tenant (found by the reconciler)';

export async function reconcile(
  rt: ReconcileRuntime,
  options: { readonly repair: boolean; readonly actor: string },
): Promise<Reconciliation> {
  await ensureControlSchema(rt.db);
  const startedAt = new Date().toISOString();
  const findings: Finding[] = [];
  // Overdue runs first: stopping one leaves its tenant stuck, which the next check repairs.
  findings.push(...(await overdueExecutions(rt, options.repair)));
  findings.push(...(await rowsWithoutSchema(rt)));
  findings.push(...(await schemasWithoutRow(rt)));
  findings.push(...(await stuckTenants(rt, options.repair)));
  findings.push(...(await versionDrift(rt)));
  findings.push(...(await catalogDrift(rt)));
  const counts: Partial<Record<FindingKind, number>> = {};
  for (const f of findings) counts[f.kind] = (counts[f.kind] ?? 0) + 1;
  // Every kind every run, 0 included, so an alarm sees a value and the dashboard a line.
  for (const kind of FINDING_KINDS) putMetric('ReconciliationFindings', { finding: kind }, counts[kind] ?? 0);
  await fleetMetrics(rt);
  const run = await recordReconciliation(rt.db, {
    startedAt,
    repair: options.repair,
    actor: options.actor,
    counts,
    findings,
  });
  // Said on the bus (the outbox locally) when something was found, for whoever watches.
  if (findings.length > 0) {
    await eventPublisher(rt.db).publish({
      type: 'ReconciliationFound',
      key: `ReconciliationFound:${run.id}`,
      detail: {
        reconciliationId: run.id,
        repair: run.repair,
        counts,
        unrepaired: findings.filter((f) => !f.repaired).length,
      },
    });
  }
  return run;
}

/**
 * The fleet's gauges, at each run: tenants in each status (0 included), and live tenants per
 * blueprint version (the monitoring dashboard's fleet counts).
 */
async function fleetMetrics(rt: Runtime): Promise<void> {
  const [byStatus, byVersion] = await Promise.all([
    rt.db.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM tenantry.tenants GROUP BY status',
    ),
    rt.db.query<{ blueprint: string; version: number; n: number }>(
      `SELECT blueprint, blueprint_version AS version, count(*)::int AS n FROM tenantry.tenants
        WHERE status IN ('active', 'disabled', 'migrating', 'scheduled_for_deletion')
        GROUP BY blueprint, blueprint_version ORDER BY 1, 2`,
    ),
  ]);
  const counted = new Map(byStatus.rows.map((r) => [r.status, Number(r.n)]));
  for (const status of TENANT_STATUSES) putMetric('FleetTenants', { status }, counted.get(status) ?? 0);
  for (const r of byVersion.rows)
    putMetric('FleetTenantsByVersion', { blueprint: r.blueprint, version: String(r.version) }, Number(r.n));
}

async function rowsWithoutSchema(rt: Runtime): Promise<Finding[]> {
  const { rows } = await rt.db.query<{ tenant_id: string; schema_name: string; status: string }>(
    `SELECT t.tenant_id, t.schema_name, t.status FROM tenantry.tenants t
      WHERE t.status IN ('active', 'disabled', 'migrating', 'scheduled_for_deletion')
        AND to_regnamespace(quote_ident(t.schema_name)) IS NULL
      ORDER BY t.tenant_id`,
  );
  return rows.map((r) => ({
    kind: 'row-without-schema',
    tenantId: r.tenant_id,
    schema: r.schema_name,
    detail: `tenant ${r.tenant_id} is ${r.status} but its schema ${r.schema_name} does not exist`,
  }));
}

async function schemasWithoutRow(rt: Runtime): Promise<Finding[]> {
  const { rows } = await rt.db.query<{ schema: string; tenant_id: string | null; status: string | null }>(
    `SELECT n.nspname AS schema, t.tenant_id, t.status FROM pg_namespace n
       LEFT JOIN tenantry.tenants t ON t.schema_name = n.nspname
      WHERE n.nspname LIKE 'tenant\\_%'
        AND (t.tenant_id IS NULL OR t.status = 'deprovisioned')
      ORDER BY n.nspname`,
  );
  return rows.map((r) => ({
    kind: 'schema-without-row',
    schema: r.schema,
    ...(r.tenant_id ? { tenantId: r.tenant_id } : {}),
    detail: r.tenant_id
      ? `schema ${r.schema} exists, but its tenant ${r.tenant_id} is deprovisioned`
      : `schema ${r.schema} exists, but no tenant in the registry has it`,
  }));
}

async function stuckTenants(rt: ReconcileRuntime, repair: boolean): Promise<Finding[]> {
  // A Deprovision disables the tenant before its backup (previous_status keeps what to give back),
  // and only marks it deprovisioning at the drop: a disabled tenant with a previous status is in one.
  const { rows } = await rt.db.query<{ tenant_id: string; status: string; execution_id: string }>(
    `SELECT tenant_id, CASE WHEN status = 'disabled' THEN 'deprovisioning' ELSE status END AS status, execution_id
       FROM tenantry.tenants
      WHERE status IN ('provisioning', 'deprovisioning', 'migrating')
         OR (status = 'disabled' AND previous_status IS NOT NULL)
      ORDER BY tenant_id`,
  );
  const findings: Finding[] = [];
  for (const r of rows) {
    const execution = await rt.engine.describe(r.execution_id);
    if (execution?.status === 'RUNNING') continue;
    const workflow = TRANSITIONAL[r.status] as WorkflowName;
    const finding: Finding = {
      kind: 'stuck',
      tenantId: r.tenant_id,
      executionId: r.execution_id,
      detail: execution
        ? `tenant ${r.tenant_id} is ${r.status}, but its ${workflow} execution ended ${execution.status}`
        : `tenant ${r.tenant_id} is ${r.status}, but its ${workflow} execution does not exist`,
    };
    if (!repair) {
      findings.push(finding);
      continue;
    }
    const event = StepEventSchema.parse({
      state: {
        ...(execution?.input && typeof execution.input === 'object' ? execution.input : {}),
        tenantId: r.tenant_id,
        failure: { Reconcile: { Error: 'Orphaned', Cause: ORPHANED } },
      },
      execution: {
        id: r.execution_id,
        name: r.execution_id.split(':').at(-1) ?? r.execution_id,
        startTime: execution?.startedAt ?? new Date().toISOString(),
      },
    });
    const cleaned = await (CLEANUP[workflow] as (typeof CLEANUP)[string])(rt, event);
    findings.push({
      ...finding,
      repaired: cleaned.owned
        ? `ran ${workflow}'s Cleanup`
        : `${workflow}'s Cleanup found the tenant held by another run`,
    });
  }
  return findings;
}

async function overdueExecutions(rt: ReconcileRuntime, repair: boolean): Promise<Finding[]> {
  // Only the local engine keeps its executions in the database; Step Functions ends a run at its timeout.
  const store = await rt.db.query<{ present: boolean }>(
    `SELECT to_regclass('tenantry.executions') IS NOT NULL AS present`,
  );
  if (!store.rows[0]?.present) return [];
  const timeouts = Object.fromEntries(Object.entries(WORKFLOWS).map(([name, w]) => [name, w.timeoutSeconds]));
  const { rows } = await rt.db.query<{
    execution_id: string;
    workflow: string;
    tenant_id: string;
    started_at: string;
  }>(
    `SELECT execution_id, workflow, tenant_id, started_at FROM tenantry.executions
      WHERE status = 'RUNNING'
        AND started_at + make_interval(secs => ($1::jsonb ->> workflow)::double precision) < clock_timestamp()
      ORDER BY started_at`,
    [JSON.stringify(timeouts)],
  );
  const findings: Finding[] = [];
  for (const r of rows) {
    const finding: Finding = {
      kind: 'overdue-execution',
      tenantId: r.tenant_id,
      executionId: r.execution_id,
      detail: `${r.workflow} execution of ${r.tenant_id} has been RUNNING since ${new Date(r.started_at).toISOString()}, past its ${timeouts[r.workflow]} s timeout`,
    };
    if (!repair) {
      findings.push(finding);
      continue;
    }
    await rt.engine.stop(r.execution_id, {
      error: 'States.Timeout',
      cause: `the execution ran past its ${timeouts[r.workflow]} s timeout (stopped by the reconciler)`,
    });
    findings.push({ ...finding, repaired: 'stopped, as its timeout would have' });
  }
  return findings;
}

async function versionDrift(rt: Runtime): Promise<Finding[]> {
  const { rows: tenants } = await rt.db.query<{
    tenant_id: string;
    schema_name: string;
    blueprint_version: number;
  }>(
    `SELECT t.tenant_id, t.schema_name, t.blueprint_version FROM tenantry.tenants t
      WHERE t.status = 'active'
        AND to_regclass(quote_ident(t.schema_name) || '._tenantry_migrations') IS NOT NULL
      ORDER BY t.tenant_id`,
  );
  const findings: Finding[] = [];
  // A few hundred tenants per statement: one round trip each, on every backend.
  for (let i = 0; i < tenants.length; i += 200) {
    const chunk = tenants.slice(i, i + 200);
    const { rows } = await rt.db.query<{ i: number; v: number | null }>(
      chunk
        .map(
          (t, j) =>
            `SELECT ${j}::integer AS i, (SELECT max(version) FROM ${quoteIdent(t.schema_name)}._tenantry_migrations)::integer AS v`,
        )
        .join(' UNION ALL '),
    );
    for (const r of rows) {
      const t = chunk[r.i];
      if (!t || r.v === Number(t.blueprint_version)) continue;
      findings.push({
        kind: 'version-drift',
        tenantId: t.tenant_id,
        schema: t.schema_name,
        detail: `tenant ${t.tenant_id} is at v${t.blueprint_version} in the registry, but its ledger's newest migration is ${r.v === null ? 'none' : `v${r.v}`}`,
      });
    }
  }
  return findings;
}

async function catalogDrift(rt: Runtime): Promise<Finding[]> {
  const { rows } = await rt.db.query<{ tenant_id: string; checked: string }>(
    `SELECT tenant_id, drift_checked_at AS checked FROM tenantry.tenants
      WHERE status = 'active' AND drift IS NOT NULL ORDER BY tenant_id`,
  );
  return rows.map((r) => ({
    kind: 'catalog-drift',
    tenantId: r.tenant_id,
    detail: `tenant ${r.tenant_id}'s schema differed from its blueprint version's lock when verified at ${new Date(r.checked).toISOString()} (tenantry verify ${r.tenant_id})`,
  }));
}
