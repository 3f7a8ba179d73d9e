import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { backupStore } from '../blobs/connect';
import { eventsConfigFromEnv } from '../config';
import { NotFoundError, TenantryError, ValidationError } from '../errors';
import { EventBridgePublisher, type EventPublisher, OutboxPublisher } from '../events/publisher';
import { quoteIdent, quoteLiteral } from '../identifiers';
import { causeMessage } from '../progress';
import type { StepEvent } from '../provision/schemas';
import { callControl, jsonArg } from '../registry/call';
import { ensureControlSchema } from '../registry/control';
import type { Runtime } from '../runtime';
import type { SqlExecutor } from '../sql/port';
import { tenantIdProblem } from '../tenant-id';
import { parseOrThrow } from '../validation';
import {
  type BackupManifest,
  BackupManifestSchema,
  DeprovisionOutputSchemas,
  DeprovisionRequestSchema,
} from './schemas';

/** A backup that does not match its manifest or the live data: nothing may be dropped. */
export class BackupVerificationError extends TenantryError {
  readonly status = 500;
}

/** Rows per backup page: well inside the Data API's 1 MiB response limit for typical rows. */
export const BACKUP_PAGE_ROWS = 500;

type ValidateOutput = z.infer<(typeof DeprovisionOutputSchemas)['Validate']>;
type BackupOutput = z.infer<(typeof DeprovisionOutputSchemas)['Backup']>;

function output<T>(event: StepEvent, step: string, schema: z.ZodType<T>): T {
  const raw = event.state.steps?.[step]?.output;
  if (raw === undefined)
    throw new ValidationError([{ field: `state.steps.${step}`, reason: 'missing: that step has not run' }]);
  return parseOrThrow(schema, raw, `state.steps.${step}.output.`);
}

const planOf = (event: StepEvent): ValidateOutput =>
  output(event, 'Validate', DeprovisionOutputSchemas.Validate);

/** Validate: the tenant exists and is live; claim it, remembering the status to return to. */
export async function validate(rt: Runtime, event: StepEvent): Promise<ValidateOutput> {
  const { steps: _s, failure: _f, ...input } = event.state;
  const request = parseOrThrow(DeprovisionRequestSchema, input);
  await ensureControlSchema(rt.db);
  const options = {
    preserveAuditLogs: request.preserveAuditLogs,
    preserveBackups: request.preserveBackups,
    notifyUsers: request.notifyUsers,
    ...(request.reason ? { reason: request.reason } : {}),
  };
  const target = await callControl<ValidateOutput['target']>(rt.db, request.tenantId, 'begin_deprovision', [
    jsonArg({
      tenantId: request.tenantId,
      executionId: event.execution.id,
      options,
      requestedBy: request.requestedBy,
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
function resumedBackup(event: StepEvent): BackupOutput {
  return parseOrThrow(DeprovisionOutputSchemas.Backup, event.state.resumeBackup, 'state.resumeBackup.');
}

export async function disable(rt: Runtime, event: StepEvent): Promise<{ status: string }> {
  const plan = planOf(event);
  if (plan.target.schemaDropped) return { status: 'deprovisioning' };
  return callControl(rt.db, plan.tenantId, 'disable_tenant', [plan.tenantId, event.execution.id]);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function tablesOf(db: SqlExecutor, schema: string): Promise<{ table: string; orderBy: string }[]> {
  const { rows } = await db.query<{ table: string; keys: string[] | null }>(
    `SELECT c.relname AS table,
            (SELECT array_agg(a.attname::text ORDER BY k.ord)
               FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE i.indrelid = c.oid AND i.indisprimary) AS keys
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
      ORDER BY c.relname`,
    [schema],
  );
  return rows.map((r) => ({
    table: r.table,
    // A stable order makes pages repeatable; without a primary key, order by the whole row.
    orderBy: r.keys?.length ? r.keys.map(quoteIdent).join(', ') : 't::text',
  }));
}

function manifestKey(tenantId: string, executionName: string) {
  return `backups/${tenantId}/${executionName}/manifest.json`;
}

/**
 * Backup: every table of the tenant schema, read in one REPEATABLE READ snapshot page by page
 * (so no page outgrows a Data API response), each page written as NDJSON, then a manifest of
 * rows and checksums per table. Retried runs overwrite the same keys.
 */
export async function backup(rt: Runtime, event: StepEvent): Promise<BackupOutput> {
  const plan = planOf(event);
  if (plan.target.schemaDropped) return resumedBackup(event);
  const store = await backupStore();
  const retention = plan.preserveBackups ? 'preserve' : 'expire';
  const prefix = `backups/${plan.tenantId}/${event.execution.name}`;
  const schema = quoteIdent(plan.target.schema);
  const tables = await rt.db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const result: BackupManifest['tables'] = [];
    for (const { table, orderBy } of await tablesOf(tx, plan.target.schema)) {
      const parts: BackupManifest['tables'][number]['parts'] = [];
      const whole = createHash('sha256');
      let rows = 0;
      for (let page = 0; ; page++) {
        const { rows: batch } = await tx.query<{ line: string }>(
          `SELECT to_jsonb(t)::text AS line FROM ${schema}.${quoteIdent(table)} t ORDER BY ${orderBy} LIMIT $1 OFFSET $2`,
          [BACKUP_PAGE_ROWS, page * BACKUP_PAGE_ROWS],
        );
        if (batch.length === 0 && page > 0) break;
        const body = batch.map((r) => `${r.line}\n`).join('');
        const key = `${prefix}/${table}/part-${String(page + 1).padStart(5, '0')}.ndjson`;
        await store.put(key, body, { contentType: 'application/x-ndjson', retention });
        whole.update(body);
        parts.push({ key, rows: batch.length, sha256: sha256(body) });
        rows += batch.length;
        if (batch.length < BACKUP_PAGE_ROWS) break;
      }
      result.push({ table, rows, sha256: whole.digest('hex'), parts });
    }
    return result;
  });
  const manifest: BackupManifest = {
    format: 'tenantry-backup/1',
    tenantId: plan.tenantId,
    schema: plan.target.schema,
    blueprint: plan.target.blueprint,
    blueprintVersion: plan.target.blueprintVersion,
    templateId: plan.target.templateId,
    templateVersion: plan.target.templateVersion,
    executionId: event.execution.id,
    createdAt: new Date().toISOString(),
    retention,
    tables,
  };
  const key = manifestKey(plan.tenantId, event.execution.name);
  await store.put(key, `${JSON.stringify(manifest, null, 2)}\n`, {
    contentType: 'application/json',
    retention,
  });
  return {
    manifestKey: key,
    location: store.location(prefix),
    tables: tables.length,
    rows: tables.reduce((n, t) => n + t.rows, 0),
  };
}

/** VerifyBackup: every part reads back with its checksum and row count, and the counts match the live tables. */
export async function verifyBackup(rt: Runtime, event: StepEvent): Promise<{ tables: number; rows: number }> {
  const plan = planOf(event);
  if (plan.target.schemaDropped) {
    // Verified against the live tables by the run that dropped them.
    const resumed = resumedBackup(event);
    return { tables: resumed.tables, rows: resumed.rows };
  }
  const { manifestKey: key } = output(event, 'Backup', DeprovisionOutputSchemas.Backup);
  const store = await backupStore();
  const manifest = parseOrThrow(BackupManifestSchema, JSON.parse(await store.get(key)), 'manifest.');
  const problems: string[] = [];
  for (const t of manifest.tables) {
    const whole = createHash('sha256');
    let rows = 0;
    for (const part of t.parts) {
      const body = await store.get(part.key);
      whole.update(body);
      const lines = body === '' ? 0 : body.split('\n').length - 1;
      if (sha256(body) !== part.sha256 || lines !== part.rows)
        problems.push(`${part.key} does not match the manifest`);
      rows += lines;
    }
    if (whole.digest('hex') !== t.sha256 || rows !== t.rows)
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
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`,
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
      (t) => `SELECT ${quoteLiteral(t)} AS t, count(*)::int AS n FROM ${quoteIdent(schema)}.${quoteIdent(t)}`,
    )
    .join(' UNION ALL ');
  const { rows } = await db.query<{ t: string; n: number }>(sql);
  return new Map(rows.map((r) => [r.t, r.n]));
}

let publisher: EventPublisher | undefined;
function eventPublisher(rt: Runtime): EventPublisher {
  const config = eventsConfigFromEnv();
  if (config.kind === 'eventbridge') {
    publisher ??= new EventBridgePublisher(config.busName);
    return publisher;
  }
  return new OutboxPublisher(rt.db);
}

/** Notify: TenantDeprovisioned, for the apps (and, if asked, the tenant's users). Once per execution. */
export async function notify(rt: Runtime, event: StepEvent): Promise<{ published: string }> {
  const plan = planOf(event);
  // Published by the run that dropped the schema (Notify comes before DropSchema).
  if (plan.target.schemaDropped) return { published: 'none (published before the drop)' };
  const backed = output(event, 'Backup', DeprovisionOutputSchemas.Backup);
  await eventPublisher(rt).publish({
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

export async function dropSchema(
  rt: Runtime,
  event: StepEvent,
): Promise<{ dropped: boolean; archivedAuditRows: number }> {
  const plan = planOf(event);
  const auditTables = plan.preserveAuditLogs ? rt.blueprints.get(plan.target.blueprint).auditTables : [];
  return callControl(rt.db, plan.tenantId, 'drop_tenant_schema', [
    plan.tenantId,
    event.execution.id,
    jsonArg(auditTables),
  ]);
}

export async function finalize(
  rt: Runtime,
  event: StepEvent,
): Promise<{ status: string; backupLocation: string }> {
  const plan = planOf(event);
  const backed = output(event, 'Backup', DeprovisionOutputSchemas.Backup);
  return callControl(rt.db, plan.tenantId, 'finalize_deprovision', [
    plan.tenantId,
    event.execution.id,
    backed.location,
    backed.manifestKey,
  ]);
}

/** Cleanup: before the drop the tenant gets its status back; after it, it stays marked with the error. */
export async function cleanup(rt: Runtime, event: StepEvent) {
  const [step, caught] = Object.entries(event.state.failure ?? {})[0] ?? [
    'unknown',
    { Error: 'Unknown', Cause: '' },
  ];
  const base = { step, error: caught.Error, cause: causeMessage(caught.Cause) };
  const tenantId = event.state.tenantId;
  if (typeof tenantId !== 'string' || tenantIdProblem(tenantId))
    return { ...base, owned: false, reenabled: false };
  await ensureControlSchema(rt.db);
  try {
    const result = await callControl<{ owned: boolean; reenabled: boolean }>(
      rt.db,
      tenantId,
      'deprovision_cleanup',
      [tenantId, event.execution.id, step, jsonArg({ error: base.error, cause: base.cause })],
    );
    return { ...base, ...result };
  } catch (error) {
    if (error instanceof NotFoundError) return { ...base, owned: false, reenabled: false };
    throw error;
  }
}
