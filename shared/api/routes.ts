import {
  cancelScheduledDeprovision,
  type DeletionScheduler,
  scheduleDeprovision,
} from '../deprovision/schedule';
import { DeprovisionRequestSchema } from '../deprovision/schemas';
import type { Domains } from '../domains';
import type { DriftReport } from '../drift/schemas';
import { verifyTenant } from '../drift/verify';
import {
  canonicalJson,
  deprovisionExecutionName,
  migrateExecutionName,
  provisionExecutionName,
  redriveExecutionName,
  restoreExecutionName,
} from '../engine/names';
import type { ExecutionDescription, WorkflowName } from '../engine/port';
import { fullHistory } from '../engine/port';
import {
  ConflictError,
  NotFoundError,
  TenantBusyError,
  TenantGoneError,
  TenantStateError,
  ValidationError,
} from '../errors';
import { changeAndPublish } from '../events/publisher';
import type { Labels } from '../labels';
import { MigrateRequestSchema } from '../migrate/schemas';
import { putMetric } from '../observability/metrics';
import { causeMessage, stepsFromHistory } from '../progress';
import { RestoreRequestSchema, StepEventSchema } from '../provision/schemas';
import { cleanup } from '../provision/steps';
import { lastReconciliation, type Reconciliation } from '../reconcile/records';
import { callControl, jsonArg } from '../registry/call';
import { ensureControlSchema } from '../registry/control';
import { deprovisionRefusal, migrateRefusal, provisionRefusal } from '../registry/lifecycle';
import { type ResolvedTenant, resolveOutcome, resolveTenant } from '../registry/resolve';
import {
  assertDomainsFree,
  assertSchemaNameFree,
  auditPage,
  getTenant as readTenant,
  listTenants as readTenants,
  type TenantRecord,
} from '../registry/tenants';
import type { Runtime } from '../runtime';
import { hashPassword } from '../templates/password';
import { TemplateStore } from '../templates/store';
import { parseOrThrow } from '../validation';
import type {
  DeprovisionScheduled,
  DeprovisionStarted,
  ExecutionResponse,
  StartedExecutionResponse,
  Stats,
} from './responses';
import type { ApiRuntime, EngineRuntime } from './runtime';
import type {
  AuditQuery,
  DeprovisionBody,
  ListTenantsQuery,
  MigrateBody,
  PageQuery,
  ProvisionFromTemplate,
  ResolveQuery,
  StartTenant,
} from './schemas';

/**
 * One function per route. Each takes the runtime and its already-validated input, and throws typed
 * errors (shared/errors.ts) that the HTTP edge turns into problem responses.
 */

const statusUrl = (name: string) => `/executions/${name}`;

interface FoundExecution extends ExecutionDescription {
  readonly tenantId: string;
  readonly request: Record<string, unknown>;
  readonly workflow: WorkflowName;
}

/**
 * An execution by name or ARN, or NotFoundError. Only executions of this API's state machines
 * (those listed, by default every one the engine runs) are found.
 */
async function findExecution(
  rt: EngineRuntime,
  ref: string,
  workflows: readonly WorkflowName[] = rt.engine.workflows,
): Promise<FoundExecution> {
  const name = ref.startsWith('arn:') ? (ref.split(':').at(-1) ?? '') : ref;
  for (const workflow of workflows) {
    const executionId = rt.engine.executionArn(name, workflow);
    if (ref.startsWith('arn:') && ref !== executionId) continue;
    const found = await rt.engine.describe(executionId);
    if (!found) continue;
    const request = (found.input ?? {}) as Record<string, unknown>;
    return { ...found, tenantId: String(request.tenantId ?? ''), request, workflow };
  }
  throw new NotFoundError(`no execution '${ref}'`);
}

/**
 * `POST /tenants`: start provisioning, or answer with the execution this same request already started.
 * An admin user's password is hashed here, before the execution starts: only the hash reaches the
 * workflow input, its history and the database. The execution name is made from the request
 * without the password, so the same request (whatever the password) names the same execution.
 */
export async function startTenant(
  rt: ApiRuntime,
  request: StartTenant,
  actor: string,
): Promise<StartedExecutionResponse> {
  if (request.blueprint && !rt.blueprints.names().includes(request.blueprint)) {
    throw new ValidationError([
      {
        field: 'blueprint',
        reason: `unknown blueprint '${request.blueprint}' (known: ${rt.blueprints.names().join(', ')})`,
      },
    ]);
  }
  if (request.template) {
    try {
      await new TemplateStore(rt.db, rt.blueprints).get(request.template);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      throw new ValidationError([{ field: 'template', reason: `no template '${request.template}'` }]);
    }
  }
  const { adminUser, ...rest } = request;
  const admin = adminUser ? { email: adminUser.email, name: adminUser.name ?? 'Administrator' } : undefined;
  const { tenantId } = request;
  const name = provisionExecutionName(tenantId, { ...rest, ...(admin ? { adminUser: admin } : {}) });
  const executionId = rt.engine.executionArn(name);
  const existing = await rt.engine.describe(executionId);
  if (!existing) {
    await ensureControlSchema(rt.db);
    const tenant = await readTenant(rt.db, tenantId);
    if (tenant && tenant.executionId !== executionId) {
      const refusal = provisionRefusal(tenant);
      if (refusal) throw refusal;
    }
    await assertSchemaNameFree(rt.db, tenantId);
    await assertDomainsFree(rt.db, tenantId, request.domains ?? []);
  }
  // Who asked is not part of the request: the same request from another caller is the same run.
  const input = {
    ...rest,
    actor,
    ...(admin && adminUser
      ? { adminUser: { ...admin, passwordHash: await hashPassword(adminUser.password) } }
      : {}),
  };
  const started = await rt.engine.start(name, tenantId, input);
  // The local engine answers with the tenant's running execution when it has one of another name.
  if (started.name !== name) throw new TenantBusyError(tenantId, started.executionId);
  return {
    executionId: started.executionId,
    executionName: name,
    tenantId,
    started: started.started && !existing,
    statusUrl: statusUrl(name),
  };
}

/** `GET /tenants`: keyset paging by tenant id. */
export async function listTenants(rt: Runtime, query: ListTenantsQuery) {
  await ensureControlSchema(rt.db);
  const items = await readTenants(rt.db, {
    ...(query.status ? { status: query.status } : {}),
    ...(query.nextToken ? { after: query.nextToken } : {}),
    limit: query.limit,
  });
  const last = items.at(-1);
  return { items, ...(items.length === query.limit && last ? { nextToken: last.tenantId } : {}) };
}

/**
 * `GET /audit` and `GET /tenants/{tenantId}/audit`: the audit trail, newest first. A tenant id that
 * names no tenant and has no entries (a rejected provisioning keeps its entries) is a 404.
 */
export async function listAudit(rt: Runtime, query: AuditQuery, tenantId?: string) {
  await ensureControlSchema(rt.db);
  const items = await auditPage(rt.db, {
    ...(tenantId ? { tenantId } : {}),
    ...(query.action ? { action: query.action } : {}),
    ...(query.since ? { since: query.since } : {}),
    ...(query.until ? { until: query.until } : {}),
    ...(query.nextToken ? { before: query.nextToken } : {}),
    limit: query.limit,
  });
  if (tenantId && items.length === 0 && !query.nextToken && !(await readTenant(rt.db, tenantId)))
    throw new NotFoundError(`no tenant '${tenantId}'`);
  const last = items.at(-1);
  return { items, ...(items.length === query.limit && last ? { nextToken: last.id } : {}) };
}

/** `GET /reconciliation`: the reconciler's last run (shared/reconcile/), 404 before its first. */
export async function getReconciliation(rt: Runtime): Promise<Reconciliation> {
  const last = await lastReconciliation(rt);
  if (!last) throw new NotFoundError('the reconciler has not run yet (tenantry reconcile)');
  return last;
}

/** `GET /tenants/{tenantId}` */
export async function getTenant(rt: Runtime, tenantId: string): Promise<TenantRecord> {
  await ensureControlSchema(rt.db);
  const tenant = await readTenant(rt.db, tenantId);
  if (!tenant) throw new NotFoundError(`no tenant '${tenantId}'`);
  return tenant;
}

/**
 * `PUT /tenants/{tenantId}/labels`: the tenant's labels, replaced whole (an empty object clears
 * them), with an audit entry of what they were. A deprovisioned tenant keeps the labels it had.
 */
export async function setTenantLabels(
  rt: Runtime,
  tenantId: string,
  labels: Labels,
  actor: string,
): Promise<TenantRecord> {
  await ensureControlSchema(rt.db);
  await rt.db.transaction(async (tx) => {
    const { rows } = await tx.query<{ status: string; labels: Labels }>(
      'SELECT status, labels FROM tenantry.tenants WHERE tenant_id = $1 FOR UPDATE',
      [tenantId],
    );
    const row = rows[0];
    if (!row) throw new NotFoundError(`no tenant '${tenantId}'`);
    if (row.status === 'deprovisioned')
      throw new TenantStateError(`tenant '${tenantId}' is deprovisioned: its labels are kept as they were`);
    await tx.query(
      'UPDATE tenantry.tenants SET labels = $2::jsonb, updated_at = now() WHERE tenant_id = $1',
      [tenantId, JSON.stringify(labels)],
    );
    await tx.query(`SELECT tenantry.audit($1, 'labels.set', $2, NULL, $3::jsonb)`, [
      tenantId,
      actor,
      JSON.stringify({ labels, previous: row.labels }),
    ]);
  });
  return getTenant(rt, tenantId);
}

/**
 * `PUT /tenants/{tenantId}/domains`: the hosts the tenant holds, replaced whole (an empty list
 * clears them), audited (`domains.set`, with what they were), in one control function call
 * (set_domains.sql). A host another tenant holds is a 409 naming it, decided by the database's
 * unique index on held hosts whatever races; a deprovisioned tenant is a 409 (it holds none).
 */
export async function setTenantDomains(
  rt: Runtime,
  tenantId: string,
  domains: Domains,
  actor: string,
): Promise<TenantRecord> {
  await ensureControlSchema(rt.db);
  // TenantDomainsChanged, in the same transaction, when the hosts changed; its key is the change's
  // audit entry, so the one change is one event.
  await changeAndPublish(rt.db, async (tx) => {
    const set = await callControl(tx, tenantId, 'set_domains', [tenantId, jsonArg(domains), actor]);
    if (JSON.stringify(set.domains) === JSON.stringify(set.previous)) return { result: set };
    const { rows } = await tx.query<{ id: string | number }>(
      `SELECT max(id) AS id FROM tenantry.audit_log WHERE tenant_id = $1 AND action = 'domains.set'`,
      [tenantId],
    );
    return {
      result: set,
      event: {
        type: 'TenantDomainsChanged',
        key: `TenantDomainsChanged:${tenantId}:${rows[0]?.id}`,
        detail: { tenantId, domains: set.domains, previous: set.previous },
      },
    };
  });
  return getTenant(rt, tenantId);
}

/**
 * `GET /resolve?host=|id=`: resolveTenant (shared/registry/resolve.ts), one statement, answered by
 * the tenant's status (TENANT_LIFECYCLE `resolve`): 200 for a tenant in use, 404 for no tenant (or
 * one not provisioned yet), 410 for one that is gone, the problem saying its status.
 */
export async function resolve(rt: Runtime, query: ResolveQuery): Promise<ResolvedTenant> {
  await ensureControlSchema(rt.db);
  const key = query.host !== undefined ? { host: query.host } : { id: query.id ?? '' };
  const field = 'host' in key ? 'host' : 'id';
  const named = 'host' in key ? `host ${key.host}` : `tenant id ${key.id}`;
  const tenant = await resolveTenant(rt.db, key);
  if (!tenant) throw new NotFoundError(`no tenant answers to ${named}`, { field });
  if (resolveOutcome(tenant.status) === 'gone')
    throw new TenantGoneError(`tenant '${tenant.tenantId}' (${named}) is ${tenant.status}`, { field });
  return tenant;
}

/** `GET /tenants/{tenantId}/drift`: verify the live tenant against its blueprint version's lock, and record it. */
export async function getTenantDrift(rt: Runtime, tenantId: string): Promise<DriftReport> {
  return verifyTenant(rt, tenantId, 'api');
}

/** `GET /tenants/{tenantId}/executions` */
export async function listTenantExecutions(rt: EngineRuntime, tenantId: string, query: PageQuery) {
  return rt.engine.listByTenant(tenantId, { limit: Math.min(query.limit, 100), nextToken: query.nextToken });
}

/** `GET /executions/{executionId}`: status and the ordered steps, from the history. */
export async function getExecution(rt: EngineRuntime, ref: string): Promise<ExecutionResponse> {
  const found = await findExecution(rt, ref);
  const [history, redrive] = await Promise.all([
    fullHistory(rt.engine, found.executionId),
    rt.engine.describe(
      rt.engine.executionArn(redriveExecutionName(found.tenantId, found.name), found.workflow),
    ),
  ]);
  const progress = stepsFromHistory(rt.engine.stepsOf(found.workflow), history);
  const error =
    progress.error ??
    (found.error ? { error: found.error, cause: causeMessage(found.cause ?? undefined) } : undefined);
  const redriveOf = typeof found.request.redriveOf === 'string' ? found.request.redriveOf : undefined;
  return {
    executionId: found.executionId,
    name: found.name,
    tenantId: found.tenantId,
    status: found.status,
    startedAt: found.startedAt,
    stoppedAt: found.stoppedAt,
    ...(error ? { error } : {}),
    steps: progress.steps.map(({ output: _output, ...step }) => step),
    ...(redriveOf ? { redriveOf } : {}),
    ...(redrive ? { redrivenBy: redrive.executionId } : {}),
  };
}

/** `GET /executions/{executionId}/history`: the raw events, a page at a time. */
export async function getExecutionHistory(rt: EngineRuntime, ref: string, query: PageQuery) {
  const found = await findExecution(rt, ref);
  return rt.engine.history(found.executionId, query);
}

/** The step a run had got to: the last one it entered. */
async function reachedStep(
  rt: EngineRuntime,
  executionId: string,
  workflow: WorkflowName = 'Provision',
): Promise<string> {
  const steps = rt.engine.stepsOf(workflow);
  const progress = stepsFromHistory(steps, await fullHistory(rt.engine, executionId));
  return progress.steps.filter((s) => s.startedAt !== undefined).at(-1)?.name ?? steps[0] ?? 'unknown';
}

/**
 * The Cleanup of a Deprovision or a Migrate that will not run its own (stopped, timed out), by its
 * control function (the SQL function, not the step: the API needs no backup store). A Deprovision's
 * tenant gets its status back before the drop, and is marked `failed` after it; a Migrate's tenant
 * goes back to active on the version that is committed (its transaction committed or rolled back as
 * a whole). A no-op for a tenant the run no longer owns.
 */
async function controlCleanUpFor(
  rt: ApiRuntime,
  found: FoundExecution,
  workflow: 'Deprovision' | 'Migrate',
  error: { Error: string; Cause: string },
) {
  const step = await reachedStep(rt, found.executionId, workflow);
  await ensureControlSchema(rt.db);
  const result = await callControl(
    rt.db,
    found.tenantId,
    workflow === 'Deprovision' ? 'deprovision_cleanup' : 'migrate_cleanup',
    [found.tenantId, found.executionId, step, jsonArg({ error: error.Error, cause: error.Cause })],
  );
  return { step, droppedSchema: false, ...result };
}

/**
 * Runs Cleanup for an execution that will not run its own (stopped, or timed out): what it made
 * is dropped and the tenant ends `status`, exactly as the workflow's Catch would have done. It is
 * a no-op for a tenant the execution does not own, or that is no longer provisioning.
 */
async function cleanUpFor(
  rt: ApiRuntime,
  found: FoundExecution,
  status: 'failed' | 'cancelled',
  error: { Error: string; Cause: string },
) {
  const step = await reachedStep(rt, found.executionId);
  const { steps: _s, failure: _f, ...request } = found.request;
  const event = StepEventSchema.parse({
    state: { ...request, failure: { [step]: error } },
    execution: { id: found.executionId, name: found.name, startTime: found.startedAt },
  });
  return cleanup(rt, event, status);
}

/**
 * `POST /executions/{executionId}/cancel`: stop the run, then clean up as a failure would: a
 * Provision's tenant ends `cancelled`, a Deprovision's gets its status back (or, cut after its
 * schema was dropped, ends `failed`). Step Functions' StopExecution does not run the Catch, so
 * this route runs Cleanup itself; a step still in flight serialises with it on the tenant's row
 * lock and then fails its ownership check. Cancelling a cancelled execution again is a no-op.
 */
export async function cancelExecution(rt: ApiRuntime, ref: string, caller: string) {
  const found = await findExecution(rt, ref);
  const reason = { Error: 'Cancelled', Cause: `cancelled through the API by ${caller}` };
  if (found.status === 'RUNNING') {
    await ensureControlSchema(rt.db);
    // First, so that even a Validate in flight can no longer claim the tenant (control migration 4).
    await rt.db.query(
      `INSERT INTO tenantry.stopped_executions (execution_id, tenant_id, stopped_by) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING`,
      [found.executionId, found.tenantId, caller],
    );
    await rt.engine.stop(found.executionId, { error: reason.Error, cause: reason.Cause });
    putMetric('WorkflowCancelled', { workflow: found.workflow });
  } else if (found.status !== 'ABORTED') {
    throw new ConflictError(
      `execution ${found.name} is ${found.status}: only a running execution can be cancelled`,
    );
  }
  const result =
    found.workflow === 'Deprovision' || found.workflow === 'Migrate'
      ? await controlCleanUpFor(rt, found, found.workflow, reason)
      : await cleanUpFor(rt, found, 'cancelled', reason);
  const [after, tenant] = await Promise.all([
    rt.engine.describe(found.executionId),
    readTenant(rt.db, found.tenantId),
  ]);
  return {
    executionId: found.executionId,
    status: after?.status ?? 'ABORTED',
    tenantId: found.tenantId,
    tenantStatus: tenant?.status ?? null,
    stoppedInStep: result.step,
    droppedSchema: result.droppedSchema,
  };
}

/**
 * `POST /executions/{executionId}/redrive`: run a failed, cancelled or timed-out request again, as
 * a new execution linked to the old one (`redriveOf`), named after it so that redriving the same
 * execution twice gives the same run.
 *
 * Why not Step Functions' RedriveExecution: in this workflow every failure is caught, cleaned up
 * and ends in the Fail state `ProvisioningFailed`, so that Fail state is the "unsuccessful step" a
 * redrive would rerun, and it would fail again at once. And Cleanup has already undone the steps
 * before the failure, so nothing is left to resume from. A new execution of the same request
 * (Validate re-claims the failed tenant, every step converges) is the honest equivalent, and the
 * same on both engines.
 */
export async function redriveExecution(rt: ApiRuntime, ref: string): Promise<StartedExecutionResponse> {
  const found = await findExecution(rt, ref);
  if (found.status === 'RUNNING' || found.status === 'SUCCEEDED') {
    throw new ConflictError(
      `execution ${found.name} is ${found.status}: only a failed, cancelled or timed-out execution can be redriven`,
    );
  }
  if (found.workflow === 'Deprovision') return redriveDeprovision(rt, found);
  if (found.workflow === 'Migrate') {
    // A failed migration left the tenant active on its committed version: migrate it again.
    const { tenantId: _t, requestedBy, steps: _s, failure: _f, ...body } = found.request;
    return migrateTenant(rt, found.tenantId, body as MigrateBody, String(requestedBy ?? 'unknown'));
  }
  const name = redriveExecutionName(found.tenantId, found.name);
  const existing = await rt.engine.describe(rt.engine.executionArn(name));
  if (!existing) {
    await ensureControlSchema(rt.db);
    let tenant = await readTenant(rt.db, found.tenantId);
    // A timeout (or a stop from outside the API) skips the Catch: clean up as it would have.
    if (tenant?.status === 'provisioning' && tenant.executionId === found.executionId) {
      await cleanUpFor(rt, found, 'failed', {
        Error: found.error ?? found.status,
        Cause: found.cause ?? `the execution ended ${found.status}`,
      });
      tenant = await readTenant(rt.db, found.tenantId);
    }
    if (tenant && tenant.executionId !== found.executionId) {
      throw new ConflictError(
        `tenant '${found.tenantId}' has been changed since by execution ${tenant.executionId}: redrive that one, if anything`,
      );
    }
    const refusal = tenant && provisionRefusal(tenant);
    if (refusal) throw refusal;
  }
  const { redriveOf: _previous, steps: _s, failure: _f, ...request } = found.request;
  const started = await rt.engine.start(name, found.tenantId, { ...request, redriveOf: found.executionId });
  if (started.name !== name) throw new TenantBusyError(found.tenantId, started.executionId);
  return {
    executionId: started.executionId,
    executionName: name,
    tenantId: found.tenantId,
    started: started.started && !existing,
    statusUrl: statusUrl(name),
    redriveOf: found.executionId,
  };
}

/**
 * The backup a Deprovision made and verified, from its history: the Backup step's output as the
 * state carried it into a later step. Undefined if the run never got that far.
 */
async function backupOf(rt: ApiRuntime, executionId: string): Promise<unknown> {
  const history = await fullHistory(rt.engine, executionId);
  for (const event of history.toReversed()) {
    const input = event.stateEnteredEventDetails?.input;
    if (!input) continue;
    const state = JSON.parse(input) as { steps?: { Backup?: { output?: unknown } } };
    if (state.steps?.Backup?.output) return state.steps.Backup.output;
  }
  return undefined;
}

/**
 * The redrive of a Deprovision: the same request again, as a new Deprovision execution. A run
 * that skipped its Catch (a timeout, a stop from outside) is cleaned up first, so the tenant has
 * its status back and the new run can claim it. A run that failed after dropping the schema left
 * only Finalize to do: the redrive carries that run's backup (`resumeBackup`) and claims the
 * `failed` tenant back (control migration 8). A schedule's run is redriven as a run of now.
 */
async function redriveDeprovision(rt: ApiRuntime, found: FoundExecution): Promise<StartedExecutionResponse> {
  const name = redriveExecutionName(found.tenantId, found.name);
  const executionId = rt.engine.executionArn(name, 'Deprovision');
  const existing = await rt.engine.describe(executionId);
  let resumeBackup: unknown;
  if (!existing) {
    await ensureControlSchema(rt.db);
    const tenant = await readTenant(rt.db, found.tenantId);
    if (!tenant) throw new NotFoundError(`no tenant '${found.tenantId}'`);
    if (tenant.executionId !== found.executionId) {
      throw new ConflictError(
        `tenant '${found.tenantId}' has been changed since by execution ${tenant.executionId}: redrive that one, if anything`,
      );
    }
    if (tenant.status === 'disabled' || tenant.status === 'deprovisioning') {
      await controlCleanUpFor(rt, found, 'Deprovision', {
        Error: found.error ?? found.status,
        Cause: found.cause ?? `the execution ended ${found.status}`,
      });
    }
    if ((await readTenant(rt.db, found.tenantId))?.status === 'failed') {
      resumeBackup = await backupOf(rt, found.executionId);
      if (!resumeBackup)
        throw new ConflictError(
          `tenant '${found.tenantId}' failed in execution ${found.name} without a backup to finish from`,
        );
    }
  }
  const {
    redriveOf: _previous,
    resumeBackup: _r,
    steps: _s,
    failure: _f,
    scheduleName: _n,
    ...request
  } = found.request;
  const started = await rt.engine.start(
    name,
    found.tenantId,
    { ...request, redriveOf: found.executionId, ...(resumeBackup ? { resumeBackup } : {}) },
    'Deprovision',
  );
  if (started.name !== name) throw new TenantBusyError(found.tenantId, started.executionId);
  return {
    executionId: started.executionId,
    executionName: name,
    tenantId: found.tenantId,
    started: started.started && !existing,
    statusUrl: statusUrl(name),
    redriveOf: found.executionId,
  };
}

/**
 * `GET /stats`, from the registry and its audit trail, which both engines write the same way:
 * tenants by status and blueprint, outcomes and durations of executions, what is running now.
 */
export async function getStats(rt: Runtime): Promise<Stats> {
  await ensureControlSchema(rt.db);
  const [byStatus, byBlueprint, outcomes, durations, running, byTemplate, drift] = await Promise.all([
    rt.db.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM tenantry.tenants GROUP BY status ORDER BY status',
    ),
    rt.db.query<{ blueprint: string; status: string; n: number }>(
      'SELECT blueprint, status, count(*)::int AS n FROM tenantry.tenants GROUP BY blueprint, status ORDER BY 1, 2',
    ),
    rt.db.query<{ action: string; n: number }>(
      // A run cancelled before it claimed its tenant is audited as rejected, with the error Cancelled.
      `SELECT CASE WHEN action = 'provision.rejected' AND detail->'error'->>'error' = 'Cancelled'
                   THEN 'provision.cancelled' ELSE action END AS action,
              count(DISTINCT execution_id)::int AS n
         FROM tenantry.audit_log
        WHERE action IN ('provision.started', 'provision.succeeded', 'provision.failed', 'provision.cancelled',
                         'provision.rejected')
        GROUP BY 1`,
    ),
    rt.db.query<{ n: number; avg: number | null; p95: number | null }>(
      `WITH runs AS (
         SELECT s.execution_id, extract(epoch FROM (max(e.at) - min(s.at))) * 1000 AS ms
           FROM tenantry.audit_log s
           JOIN tenantry.audit_log e ON e.execution_id = s.execution_id AND e.action = 'provision.succeeded'
          WHERE s.action = 'provision.started'
          GROUP BY s.execution_id)
       SELECT count(*)::int AS n, avg(ms)::float8 AS avg,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY ms)::float8 AS p95 FROM runs`,
    ),
    rt.db.query<{ tenant_id: string; execution_id: string; since: Date }>(
      `SELECT tenant_id, execution_id, updated_at AS since FROM tenantry.tenants
        WHERE status = 'provisioning' ORDER BY updated_at LIMIT 100`,
    ),
    rt.db.query<{ template_id: string; template_version: number; n: number }>(
      `SELECT template_id, template_version, count(*)::int AS n FROM tenantry.tenants
        WHERE template_id IS NOT NULL AND status NOT IN ('failed', 'cancelled', 'deprovisioned')
        GROUP BY 1, 2 ORDER BY 1, 2`,
    ),
    rt.db.query<{ drifted: number; clean: number; unverified: number }>(
      `SELECT count(*) FILTER (WHERE drift IS NOT NULL)::int AS drifted,
              count(*) FILTER (WHERE drift IS NULL AND drift_checked_at IS NOT NULL)::int AS clean,
              count(*) FILTER (WHERE drift_checked_at IS NULL)::int AS unverified
         FROM tenantry.tenants WHERE status = 'active'`,
    ),
  ]);
  const templates: Record<string, { total: number; byVersion: Record<string, number> }> = {};
  for (const r of byTemplate.rows) {
    const entry = templates[r.template_id] ?? { total: 0, byVersion: {} };
    entry.byVersion[String(r.template_version)] = r.n;
    entry.total += r.n;
    templates[r.template_id] = entry;
  }
  const count = (action: string) => outcomes.rows.find((r) => r.action === `provision.${action}`)?.n ?? 0;
  const [started, succeeded, failed, cancelled, rejected] = [
    'started',
    'succeeded',
    'failed',
    'cancelled',
    'rejected',
  ].map(count) as [number, number, number, number, number];
  const finished = succeeded + failed + cancelled + rejected;
  const rate = (n: number) => (finished === 0 ? null : Math.round((n / finished) * 10_000) / 10_000);
  const blueprints: Record<string, Record<string, number>> = {};
  for (const r of byBlueprint.rows) {
    const entry = blueprints[r.blueprint] ?? { total: 0 };
    entry[r.status] = r.n;
    entry.total = (entry.total ?? 0) + r.n;
    blueprints[r.blueprint] = entry;
  }
  const metrics = rt.metrics ? await rt.metrics.counts() : undefined;
  const d = durations.rows[0];
  const runningCount = byStatus.rows.find((r) => r.status === 'provisioning')?.n ?? 0;
  return {
    tenants: {
      total: byStatus.rows.reduce((a, r) => a + r.n, 0),
      byStatus: Object.fromEntries(byStatus.rows.map((r) => [r.status, r.n])),
      byBlueprint: blueprints,
      byTemplate: templates,
      drift: {
        drifted: drift.rows[0]?.drifted ?? 0,
        clean: drift.rows[0]?.clean ?? 0,
        unverified: drift.rows[0]?.unverified ?? 0,
      },
    },
    executions: {
      started,
      succeeded,
      failed,
      cancelled,
      rejected,
      successRate: rate(succeeded),
      failureRate: rate(failed + rejected),
      duration: {
        count: d?.n ?? 0,
        averageMs: d?.avg === null || d?.avg === undefined ? null : Math.round(d.avg),
        p95Ms: d?.p95 === null || d?.p95 === undefined ? null : Math.round(d.p95),
      },
    },
    running: {
      count: runningCount,
      tenants: running.rows.map((r) => ({
        tenantId: r.tenant_id,
        executionId: r.execution_id,
        since: new Date(r.since).toISOString(),
      })),
    },
    ...(metrics && { metrics }),
  };
}

/**
 * `POST /tenants/{tenantId}/deprovision`: with no grace period, start the Deprovision workflow now,
 * idempotently (the same request names the same execution); with one, schedule it: the tenant shows
 * `scheduled_for_deletion` and its due time until the schedule fires or is cancelled.
 */
export async function deprovisionTenant(
  rt: ApiRuntime,
  scheduler: DeletionScheduler,
  tenantId: string,
  body: DeprovisionBody,
  actor: string,
  now: Date = new Date(),
): Promise<DeprovisionStarted | DeprovisionScheduled> {
  const parsed = parseOrThrow(DeprovisionRequestSchema, { ...body, tenantId });
  const request = { ...parsed, actor };
  await ensureControlSchema(rt.db);
  const tenant = await readTenant(rt.db, tenantId);
  if (!tenant) throw new NotFoundError(`no tenant '${tenantId}'`);
  if (request.gracePeriodHours > 0) {
    const refusal = deprovisionRefusal(tenant);
    if (refusal) throw refusal;
    const scheduled = await scheduleDeprovision(rt.db, scheduler, request, now);
    return { scheduled: true, ...scheduled };
  }
  // Who asked is not part of the request: the same request from another caller is the same run.
  const { actor: _actor, ...key } = request;
  const name = deprovisionExecutionName(tenantId, key);
  const executionId = rt.engine.executionArn(name, 'Deprovision');
  if (tenant.executionId !== executionId) {
    const refusal = deprovisionRefusal(tenant);
    if (refusal) throw refusal;
  }
  const started = await rt.engine.start(name, tenantId, request, 'Deprovision');
  if (started.name !== name) throw new TenantBusyError(tenantId, started.executionId);
  return {
    scheduled: false,
    executionId: started.executionId,
    executionName: name,
    tenantId,
    started: started.started,
    statusUrl: statusUrl(name),
  };
}

/** `DELETE /tenants/{tenantId}/deprovision`: cancel a scheduled deprovisioning; the tenant gets its status back. */
export async function cancelDeprovision(
  rt: ApiRuntime,
  scheduler: DeletionScheduler,
  tenantId: string,
  actor: string,
) {
  await ensureControlSchema(rt.db);
  if (!(await readTenant(rt.db, tenantId))) throw new NotFoundError(`no tenant '${tenantId}'`);
  const cancelled = await cancelScheduledDeprovision(rt.db, scheduler, tenantId, actor);
  return { tenantId, ...cancelled };
}

/** `POST /templates/{templateId}/provision`: `POST /tenants` with the template in the path (404 if unknown). */
export async function provisionFromTemplate(
  rt: ApiRuntime,
  templateId: string,
  request: ProvisionFromTemplate,
  actor: string,
): Promise<StartedExecutionResponse> {
  const template = await new TemplateStore(rt.db, rt.blueprints).get(templateId);
  return startTenant(rt, { ...request, template: template.templateId }, actor);
}

/**
 * `POST /tenants/{tenantId}/migrate`: start the Migrate workflow for an active tenant, to the
 * blueprint's newest version unless the body names one. Idempotent: the same request while that
 * migration runs answers with it; once the tenant has changed (the migration ended), the same
 * request is a new one. Refused up front (404, 409, 400) when Validate would refuse it.
 */
export async function migrateTenant(
  rt: ApiRuntime,
  tenantId: string,
  body: MigrateBody,
  requestedBy: string,
): Promise<StartedExecutionResponse> {
  const request = parseOrThrow(MigrateRequestSchema, { ...body, tenantId, requestedBy });
  await ensureControlSchema(rt.db);
  const tenant = await readTenant(rt.db, tenantId);
  if (!tenant) throw new NotFoundError(`no tenant '${tenantId}'`, { field: 'tenantId' });
  const blueprint = rt.blueprints.get(tenant.blueprint);
  const targetVersion = request.targetVersion ?? blueprint.version;
  const { requestedBy: _by, ...key } = { ...request, targetVersion };
  if (tenant.status === 'migrating') {
    // The same request again while its migration runs: that execution is the answer.
    const running = await rt.engine.describe(tenant.executionId);
    const { requestedBy: _b, ...runningKey } = (running?.input ?? {}) as Record<string, unknown>;
    if (running?.status === 'RUNNING' && canonicalJson(runningKey) === canonicalJson(key)) {
      return {
        executionId: running.executionId,
        executionName: running.name,
        tenantId,
        started: false,
        statusUrl: statusUrl(running.name),
      };
    }
  }
  const refusal = migrateRefusal(tenant);
  if (refusal) throw refusal;
  if (targetVersion > blueprint.version) {
    throw new ValidationError([
      {
        field: 'targetVersion',
        reason: `blueprint ${blueprint.name} has no v${targetVersion} (its newest is v${blueprint.version})`,
      },
    ]);
  }
  if (targetVersion <= tenant.blueprintVersion) {
    throw new TenantStateError(
      `tenant '${tenantId}' is already at ${tenant.blueprint} v${tenant.blueprintVersion}: nothing to migrate to v${targetVersion}`,
    );
  }
  const name = migrateExecutionName(tenantId, tenant.executionId, key);
  const started = await rt.engine.start(name, tenantId, { ...request, targetVersion }, 'Migrate');
  if (started.name !== name) throw new TenantBusyError(tenantId, started.executionId);
  return {
    executionId: started.executionId,
    executionName: name,
    tenantId,
    started: started.started,
    statusUrl: statusUrl(name),
  };
}

/**
 * `POST /tenants/{tenantId}/restore`: re-provision a deprovisioned tenant from its backup (the
 * Provision workflow with `restore: true`). One execution per backup, however often it is sent.
 */
export async function restoreTenant(
  rt: ApiRuntime,
  tenantId: string,
  requestedBy: string,
): Promise<StartedExecutionResponse> {
  const request = parseOrThrow(RestoreRequestSchema, { tenantId, restore: true, requestedBy });
  await ensureControlSchema(rt.db);
  const tenant = await readTenant(rt.db, tenantId);
  if (!tenant) throw new NotFoundError(`no tenant '${tenantId}'`);
  const { rows } = await rt.db.query<{ backup_manifest: string | null }>(
    'SELECT backup_manifest FROM tenantry.tenants WHERE tenant_id = $1',
    [tenantId],
  );
  const manifest = rows[0]?.backup_manifest;
  const restorable =
    tenant.status === 'deprovisioned' || tenant.status === 'failed' || tenant.status === 'cancelled';
  if (
    !manifest ||
    (!restorable &&
      tenant.executionId !== rt.engine.executionArn(restoreExecutionName(tenantId, manifest), 'Provision'))
  ) {
    throw new TenantStateError(`tenant '${tenantId}' is ${tenant.status} and has no backup to restore`);
  }
  const name = restoreExecutionName(tenantId, manifest);
  const started = await rt.engine.start(name, tenantId, request, 'Provision');
  if (started.name !== name) throw new TenantBusyError(tenantId, started.executionId);
  return {
    executionId: started.executionId,
    executionName: name,
    tenantId,
    started: started.started,
    statusUrl: statusUrl(name),
  };
}
