import type { z } from 'zod';
import { countLines } from '../backup/copy-text';
import { assertRowsFit, exportSchema } from '../backup/export';
import {
  type BackupManifest,
  BackupManifestSchema,
  COPY_SETTINGS,
  partChecksum,
  tableChecksum,
} from '../backup/manifest';
import { backupStore } from '../blobs/connect';
import { BackupVerificationError, NotFoundError, ValidationError } from '../errors';
import { changeAndPublish, eventPublisher } from '../events/publisher';
import { quoteIdent, quoteLiteral } from '../identifiers';
import { causeMessage } from '../progress';
import type { StepEvent } from '../provision/schemas';
import { callControl, jsonArg } from '../registry/call';
import { ensureControlSchema } from '../registry/control';
import type { Runtime } from '../runtime';
import type { SqlExecutor } from '../sql/port';
import { caughtFailure, stepOutput } from '../step-state';
import { schemaNameFor, tenantIdProblem } from '../tenant-id';
import { tenantLoginSecrets } from '../tenant-login/connect';
import { parseOrThrow } from '../validation';
import { type BackupOutput, DeprovisionOutputSchemas, DeprovisionRequestSchema } from './schemas';

type ValidateOutput = z.infer<(typeof DeprovisionOutputSchemas)['Validate']>;

const planOf = (event: StepEvent): ValidateOutput =>
  stepOutput(event, 'Validate', DeprovisionOutputSchemas.Validate);

/** Validate: the tenant exists and is live; claim it, remembering the status to return to. */
export async function validate(rt: Runtime, event: StepEvent): Promise<ValidateOutput> {
  const { steps: _s, failure: _f, ...input } = event.state;
  const request = parseOrThrow(DeprovisionRequestSchema, input);
  await ensureControlSchema(rt.db);
  // Before anything changes: a row no backup page could carry would strand the tenant disabled.
  await assertRowsFit(rt.db, schemaNameFor(request.tenantId));
  const options = {
    preserveAuditLogs: request.preserveAuditLogs,
    preserveBackups: request.preserveBackups,
    notifyUsers: request.notifyUsers,
    ...(request.reason ? { reason: request.reason } : {}),
  };
  const target = await callControl(rt.db, request.tenantId, 'begin_deprovision', [
    jsonArg({
      tenantId: request.tenantId,
      executionId: event.execution.id,
      options,
      requestedBy: request.requestedBy,
      actor: request.actor ?? null,
      scheduleName: request.scheduleName ?? null,
      redriveOf: typeof event.state.redriveOf === 'string' ? event.state.redriveOf : null,
    }),
  ]);
  return { ...request, target };
}

/**
 * A redrive of a run that failed after its DropSchema (`target.schemaDropped`): the steps before
 * the drop have nothing to do, and the backup is the one that run made and verified, carried in
 * the redrive's input as `resumeBackup`.
 */
function resumedBackup(event: StepEvent) {
  const backed = parseOrThrow(
    DeprovisionOutputSchemas.Backup,
    event.state.resumeBackup,
    'state.resumeBackup.',
  );
  if (!backed.done) {
    throw new ValidationError([{ field: 'state.resumeBackup', reason: 'that backup had not finished' }]);
  }
  return backed;
}

/** Disable: the tenant answers 410 from now on; TenantDisabled, in the same transaction, tells the apps at once. */
export async function disable(rt: Runtime, event: StepEvent): Promise<{ status: string }> {
  const plan = planOf(event);
  if (plan.target.schemaDropped) return { status: 'deprovisioning' };
  return changeAndPublish(rt.db, async (tx) => ({
    result: await callControl(tx, plan.tenantId, 'disable_tenant', [plan.tenantId, event.execution.id]),
    event: {
      type: 'TenantDisabled',
      key: `TenantDisabled:${event.execution.id}`,
      detail: { tenantId: plan.tenantId, schema: plan.target.schema, executionId: event.execution.id },
    },
  }));
}

function manifestKey(tenantId: string, executionName: string) {
  return `backups/${tenantId}/${executionName}/manifest.json`;
}

/** The finished backup of this execution: the steps after Backup need its manifest. */
function backupOf(event: StepEvent) {
  const backed = stepOutput(event, 'Backup', DeprovisionOutputSchemas.Backup);
  if (!backed.done) {
    throw new ValidationError([
      { field: 'state.steps.Backup.output', reason: 'the backup has not finished' },
    ]);
  }
  return backed;
}

/** How long one Backup invocation may read before it hands over to the next (TENANTRY_BACKUP_SLICE_SECONDS). */
function sliceDeadline(remainingMs: number): number {
  const configured = Number(process.env.TENANTRY_BACKUP_SLICE_SECONDS);
  const margin = Math.min(60_000, remainingMs / 4);
  const budget = Math.max(0, remainingMs - margin);
  const slice = Number.isFinite(configured) && configured >= 0 ? Math.min(budget, configured * 1000) : budget;
  return Date.now() + slice;
}

/**
 * Backup: every table of the tenant schema as PostgreSQL COPY text parts, in key order, with the
 * sequences' positions and a manifest of columns, row counts and checksums (docs/backups.md). A
 * tenant too large for one invocation is backed up over several: each returns `done: false` with
 * its cursor, the workflow invokes Backup again, and the last writes the manifest.
 */
export async function backup(
  rt: Runtime,
  event: StepEvent,
  remainingMs = 14 * 60_000,
): Promise<BackupOutput> {
  const plan = planOf(event);
  if (plan.target.schemaDropped) return resumedBackup(event);
  const store = await backupStore();
  const retention = plan.preserveBackups ? 'preserve' : 'expire';
  const prefix = `backups/${plan.tenantId}/${event.execution.name}`;
  const before = event.state.steps?.Backup?.output;
  const previous =
    before === undefined ? undefined : stepOutput(event, 'Backup', DeprovisionOutputSchemas.Backup);
  const resume = previous && !previous.done ? previous : undefined;
  const invocations = (resume?.invocations ?? 0) + 1;
  const result = await exportSchema(rt.db, {
    schema: plan.target.schema,
    store,
    prefix,
    retention,
    deadline: sliceDeadline(remainingMs),
    cursor: resume?.cursor,
  });
  const location = store.location(prefix);
  if (!result.done) {
    return {
      done: false,
      cursor: result.cursor,
      location,
      rows: (resume?.rows ?? 0) + result.rows,
      invocations,
    };
  }
  const manifest: BackupManifest = {
    format: 'tenantry-backup/2',
    tenantId: plan.tenantId,
    schema: plan.target.schema,
    blueprint: plan.target.blueprint,
    blueprintVersion: plan.target.blueprintVersion,
    templateId: plan.target.templateId,
    templateVersion: plan.target.templateVersion,
    executionId: event.execution.id,
    createdAt: new Date().toISOString(),
    retention,
    copy: { format: 'text', encoding: 'UTF8', settings: { ...COPY_SETTINGS } },
    tables: result.tables,
    sequences: result.sequences,
  };
  const key = manifestKey(plan.tenantId, event.execution.name);
  await store.put(key, `${JSON.stringify(manifest, null, 2)}\n`, {
    contentType: 'application/json',
    retention,
  });
  return {
    done: true,
    manifestKey: key,
    location,
    tables: result.tables.length,
    rows: result.tables.reduce((n, t) => n + t.rows, 0),
    invocations,
  };
}

/**
 * VerifyBackup: every part reads back with its checksum and row count, every table's checksum
 * covers its parts, and the counts match the live tables (read with ONLY, as the backup was).
 */
export async function verifyBackup(rt: Runtime, event: StepEvent): Promise<{ tables: number; rows: number }> {
  const plan = planOf(event);
  if (plan.target.schemaDropped) {
    // Verified against the live tables by the run that dropped them.
    const resumed = resumedBackup(event);
    return { tables: resumed.tables, rows: resumed.rows };
  }
  const { manifestKey: key } = backupOf(event);
  const store = await backupStore();
  const manifest = parseOrThrow(BackupManifestSchema, JSON.parse(await store.get(key)), 'manifest.');
  const problems: string[] = [];
  for (const t of manifest.tables) {
    let rows = 0;
    for (const part of t.parts) {
      const body = await store.get(part.key);
      const lines = countLines(body);
      if (partChecksum(body) !== part.sha256 || lines !== part.rows || Buffer.byteLength(body) !== part.bytes)
        problems.push(`${part.key} does not match the manifest`);
      rows += lines;
    }
    if (tableChecksum(t.parts) !== t.sha256 || rows !== t.rows)
      problems.push(`${t.table}: backup has ${rows} rows, manifest ${t.rows}`);
  }
  const live = await liveCounts(
    rt.db,
    plan.target.schema,
    manifest.tables.map((t) => t.table),
  );
  for (const t of manifest.tables) {
    if (live.get(t.table) !== t.rows)
      problems.push(`${t.table}: ${live.get(t.table) ?? 'no'} live rows, backup ${t.rows}`);
  }
  const { rows: tables } = await rt.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r'`,
    [plan.target.schema],
  );
  if ((tables[0]?.n ?? 0) !== manifest.tables.length) problems.push('the schema has tables the backup lacks');
  if (problems.length > 0) {
    throw new BackupVerificationError(
      `backup of ${plan.tenantId} failed verification: ${problems.slice(0, 5).join('; ')}`,
    );
  }
  return { tables: manifest.tables.length, rows: manifest.tables.reduce((n, t) => n + t.rows, 0) };
}

/** Live row counts of the given tables, in one statement. */
async function liveCounts(
  db: SqlExecutor,
  schema: string,
  tables: readonly string[],
): Promise<Map<string, number>> {
  if (tables.length === 0) return new Map();
  const sql = tables
    .map(
      (t) => `SELECT ${quoteLiteral(t)} AS t, count(*) AS n FROM ONLY ${quoteIdent(schema)}.${quoteIdent(t)}`,
    )
    .join(' UNION ALL ');
  const { rows } = await db.query<{ t: string; n: number | string }>(sql);
  return new Map(rows.map((r) => [r.t, Number(r.n)]));
}

/** Notify: TenantDeprovisioned, for the apps (and, if asked, the tenant's users). Once per execution. */
export async function notify(rt: Runtime, event: StepEvent): Promise<{ published: string }> {
  const plan = planOf(event);
  // Published by the run that dropped the schema (Notify comes before DropSchema).
  if (plan.target.schemaDropped) return { published: 'none (published before the drop)' };
  const backed = backupOf(event);
  await eventPublisher(rt.db).publish({
    type: 'TenantDeprovisioned',
    key: `TenantDeprovisioned:${event.execution.id}`,
    detail: {
      tenantId: plan.tenantId,
      schema: plan.target.schema,
      backupLocation: backed.location,
      notifyUsers: plan.notifyUsers,
      requestedBy: plan.requestedBy,
      executionId: event.execution.id,
      ...(plan.reason ? { reason: plan.reason } : {}),
    },
  });
  return { published: 'TenantDeprovisioned' };
}

/**
 * DropSchema: the audit rows kept if asked, then the tenant's login, schema and role dropped in one
 * transaction (drop_tenant_schema.sql), after the verified backup; then the login's secret is
 * deleted. A retry drops nothing twice and deletes the secret again (a no-op once it is gone).
 */
export async function dropSchema(
  rt: Runtime,
  event: StepEvent,
): Promise<{ dropped: boolean; archivedAuditRows: number; droppedLogin: boolean }> {
  const plan = planOf(event);
  const auditTables = plan.preserveAuditLogs ? rt.blueprints.get(plan.target.blueprint).auditTables : [];
  const { loginRole, ...dropped } = await callControl(rt.db, plan.tenantId, 'drop_tenant_schema', [
    plan.tenantId,
    event.execution.id,
    jsonArg(auditTables),
  ]);
  if (loginRole) await (await tenantLoginSecrets()).remove({ tenantId: plan.tenantId, username: loginRole });
  return dropped;
}

export async function finalize(
  rt: Runtime,
  event: StepEvent,
): Promise<{ status: string; backupLocation: string }> {
  const plan = planOf(event);
  const backed = backupOf(event);
  return callControl(rt.db, plan.tenantId, 'finalize_deprovision', [
    plan.tenantId,
    event.execution.id,
    backed.location,
    backed.manifestKey,
  ]);
}

/** Cleanup: before the drop the tenant gets its status back; after it, it stays marked with the error. */
export async function cleanup(rt: Runtime, event: StepEvent) {
  const caught = caughtFailure(event);
  const { step } = caught;
  const base = { ...caught, cause: causeMessage(caught.cause) };
  const tenantId = event.state.tenantId;
  if (typeof tenantId !== 'string' || tenantIdProblem(tenantId))
    return { ...base, owned: false, reenabled: false };
  await ensureControlSchema(rt.db);
  try {
    const result = await callControl(rt.db, tenantId, 'deprovision_cleanup', [
      tenantId,
      event.execution.id,
      step,
      jsonArg({ error: base.error, cause: base.cause }),
    ]);
    return { ...base, ...result };
  } catch (error) {
    if (error instanceof NotFoundError) return { ...base, owned: false, reenabled: false };
    throw error;
  }
}
