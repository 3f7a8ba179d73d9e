import type { z } from 'zod';
import type { Blueprint, BlueprintLockVersion, SeedTable } from '../blueprint';
import { type CatalogDiff, diffCatalog, readCatalog, withoutDefinerGrants } from '../catalog';
import {
  BlueprintError,
  type FieldIssue,
  NotFoundError,
  TenantryError,
  ValidationError,
  VerificationError,
} from '../errors';
import { changeAndPublish, type TenantEventType } from '../events/publisher';
import { causeMessage } from '../progress';
import { callControl, jsonArg } from '../registry/call';
import { ensureControlSchema } from '../registry/control';
import type { Runtime } from '../runtime';
import type { SqlExecutor } from '../sql/port';
import { splitSqlStatements } from '../sql/split';
import { caughtFailure, stepOutput as outputOf } from '../step-state';
import { fillAdminRows } from '../templates/admin';
import { type TemplateRecord, TemplateStore } from '../templates/store';
import { schemaNameFor, tenantIdProblem } from '../tenant-id';
import { tenantLoginSecrets } from '../tenant-login/connect';
import { parseOrThrow } from '../validation';
import {
  type ExecutionRef,
  type ProvisionPlan,
  type ProvisionRequest,
  ProvisionRequestSchema,
  type RestoreRequest,
  RestoreRequestSchema,
  type StepEvent,
  StepOutputSchemas,
  type StepOutputs,
} from './schemas';

function stepOutput<K extends keyof StepOutputs>(event: StepEvent, step: K): StepOutputs[K] {
  return outputOf(event, step, StepOutputSchemas[step] as unknown as z.ZodType<StepOutputs[K]>);
}

export function planOf(event: StepEvent): ProvisionPlan {
  const { claimed: _c, previousStatus: _p, ...plan } = stepOutput(event, 'Validate');
  return plan;
}

function blueprintOf(rt: Runtime, plan: ProvisionPlan): Blueprint {
  const blueprint = rt.blueprints.get(plan.blueprint);
  if (plan.blueprintVersion > blueprint.version) {
    throw new BlueprintError(
      `blueprint ${plan.blueprint} is at version ${blueprint.version}, this execution planned version ${plan.blueprintVersion}`,
    );
  }
  return blueprint;
}

/** The migrations that make a blueprint version: a template may pin an older one. */
export function migrationsUpTo(blueprint: Blueprint, version: number) {
  return blueprint.migrations.filter((m) => m.version <= version);
}

/**
 * The lock of a blueprint version (as the catalog reads today: withoutDefinerGrants), or
 * BlueprintError when it has none or its migrations changed since.
 */
export function lockOf(blueprint: Blueprint, version: number): BlueprintLockVersion {
  const lock = blueprint.lock[String(version)];
  const relock = `run 'tenantry blueprint lock ${blueprint.name}' and commit ${blueprint.name}/blueprint.lock.json`;
  if (!lock)
    throw new BlueprintError(`blueprint ${blueprint.name} v${version} has no catalog lock: ${relock}`);
  const changed = migrationsUpTo(blueprint, version)
    .filter((m) => lock.migrations[m.name] !== m.checksum)
    .map((m) => m.name);
  if (changed.length > 0) {
    throw new BlueprintError(
      `blueprint ${blueprint.name} v${version} lock is stale (${changed.join(', ')} changed): ${relock}`,
    );
  }
  return withoutDefinerGrants(lock);
}

/** The template a request names, at its current version; it must be active and match the blueprint. */
async function templateFor(rt: Runtime, request: ProvisionRequest) {
  if (!request.template) return undefined;
  let template: TemplateRecord;
  try {
    template = await new TemplateStore(rt.db, rt.blueprints).get(request.template);
  } catch (error) {
    if (error instanceof NotFoundError)
      throw new ValidationError([{ field: 'template', reason: error.message }]);
    throw error;
  }
  if (template.status !== 'active') {
    throw new ValidationError([
      { field: 'template', reason: `template '${template.name}' is ${template.status}` },
    ]);
  }
  return template;
}

/** Validate: check the request, then claim the tenant for this execution. Nothing is created on bad input. */
export async function validate(rt: Runtime, event: StepEvent): Promise<StepOutputs['Validate']> {
  const { steps: _s, failure: _f, ...input } = event.state;
  if (input.restore === true) return validateRestore(rt, event, parseOrThrow(RestoreRequestSchema, input));
  const request = parseOrThrow(ProvisionRequestSchema, input);
  await ensureControlSchema(rt.db);
  const template = await templateFor(rt, request);
  const definition = template?.definition;
  const problems: FieldIssue[] = [];
  if (definition && request.blueprint && request.blueprint !== definition.blueprint) {
    problems.push({
      field: 'blueprint',
      reason: `template '${template.name}' provisions ${definition.blueprint}, not ${request.blueprint}`,
    });
  }
  if (!definition && !request.blueprint)
    problems.push({ field: 'blueprint', reason: 'must name a blueprint or a template' });
  if (definition?.adminUser && !request.adminUser) {
    problems.push({
      field: 'adminUser',
      reason: `template '${template?.name}' creates an admin user: give adminUser.email`,
    });
  }
  if (request.adminUser && !definition?.adminUser) {
    problems.push({ field: 'adminUser', reason: 'only a template with an admin user can create one' });
  }
  if (problems.length > 0) throw new ValidationError(problems);
  const blueprint = rt.blueprints.get(definition?.blueprint ?? request.blueprint ?? '');
  const blueprintVersion = definition?.blueprintVersion ?? blueprint.version;
  if (blueprintVersion > blueprint.version) {
    throw new ValidationError([
      {
        field: 'template',
        reason: `template needs ${blueprint.name} v${blueprintVersion}; this build has v${blueprint.version}`,
      },
    ]);
  }
  lockOf(blueprint, blueprintVersion);
  // A login of the tenant's own when the request asks for one, or its template gives every tenant one.
  const login = request.login === true || definition?.login === true;
  const plan: ProvisionPlan = {
    tenantId: request.tenantId,
    displayName: request.displayName,
    schemaName: schemaNameFor(request.tenantId),
    blueprint: blueprint.name,
    blueprintVersion,
    requestedBy: request.requestedBy,
    ...(template ? { template: { id: template.templateId, version: template.currentVersion } } : {}),
    ...(request.adminUser ? { adminUser: request.adminUser } : {}),
    ...(request.labels ? { labels: request.labels } : {}),
    ...(request.domains ? { domains: request.domains } : {}),
    ...(login ? { login: true as const } : {}),
    ...(request.actor ? { actor: request.actor } : {}),
  };
  const claim = await callControl(rt.db, plan.tenantId, 'claim_tenant', [
    jsonArg({ ...plan, executionId: event.execution.id }),
  ]);
  return { ...plan, ...claim };
}

/** Validate for a restore: the tenant is deprovisioned with a backup; rebuild its blueprint version. */
async function validateRestore(
  rt: Runtime,
  event: StepEvent,
  request: RestoreRequest,
): Promise<StepOutputs['Validate']> {
  await ensureControlSchema(rt.db);
  const claimed = await callControl(rt.db, request.tenantId, 'claim_restore', [
    request.tenantId,
    event.execution.id,
    request.requestedBy,
  ]);
  const blueprint = rt.blueprints.get(claimed.blueprint);
  lockOf(blueprint, claimed.blueprintVersion);
  return {
    tenantId: request.tenantId,
    displayName: claimed.displayName,
    schemaName: claimed.schemaName,
    blueprint: claimed.blueprint,
    blueprintVersion: claimed.blueprintVersion,
    requestedBy: request.requestedBy,
    restore: { manifest: claimed.manifest },
    domains: claimed.domains,
    // A tenant that had a login gets a new one, with a new password.
    ...(claimed.login ? { login: true as const } : {}),
    ...(claimed.unavailableDomains.length > 0
      ? {
          warnings: claimed.unavailableDomains.map(
            (d) => `domain ${d.host} is held by tenant '${d.heldBy}' now: restored without it`,
          ),
        }
      : {}),
    claimed: true,
    previousStatus: 'deprovisioned',
  };
}

export async function createSchema(rt: Runtime, event: StepEvent): Promise<StepOutputs['CreateSchema']> {
  const plan = planOf(event);
  return callControl(rt.db, plan.tenantId, 'create_tenant_schema', [plan.tenantId, event.execution.id]);
}

/** A migration's statements with their lines, split once per process. */
const split = new Map<string, readonly { line: number; sql: string }[]>();
function statementsOf(sql: string): readonly { line: number; sql: string }[] {
  let statements = split.get(sql);
  if (!statements) {
    statements = splitSqlStatements(sql).map(({ line, sql }) => ({ line, sql }));
    split.set(sql, statements);
  }
  return statements;
}

/**
 * The migrations of a blueprint version as migrate_schema.sql takes them: each as its statements
 * with their lines, so an error names the file and line. Those up to `appliedUpTo` (a migrating
 * tenant's version) go without their statements: they are only checked against the ledger.
 */
export function migrationsArg(blueprint: Blueprint, version: number, appliedUpTo = 0) {
  return migrationsUpTo(blueprint, version).map(({ version, name, checksum, sql }) => ({
    version,
    name,
    file: `${blueprint.name}/migrations/${name}`,
    checksum,
    ...(version > appliedUpTo ? { statements: statementsOf(sql) } : {}),
  }));
}

export async function syncTables(rt: Runtime, event: StepEvent): Promise<StepOutputs['SyncTables']> {
  const plan = planOf(event);
  const blueprint = blueprintOf(rt, plan);
  const result = await callControl(rt.db, plan.tenantId, 'sync_migrations', [
    plan.tenantId,
    event.execution.id,
    jsonArg(migrationsArg(blueprint, plan.blueprintVersion)),
    jsonArg(blueprint.securityDefiner),
  ]);
  return { applied: result.applied, version: plan.blueprintVersion, routines: result.routines };
}

export async function createIndexes(rt: Runtime, event: StepEvent): Promise<StepOutputs['CreateIndexes']> {
  const plan = planOf(event);
  const blueprint = blueprintOf(rt, plan);
  const indexes = blueprint.indexes.map(({ name, sql }) => ({ name, sql }));
  return callControl(rt.db, plan.tenantId, 'create_indexes', [
    plan.tenantId,
    event.execution.id,
    jsonArg(indexes),
  ]);
}

/** Inserts rows that are not there yet, table by table in the order given: one call. */
async function insertRows(rt: Runtime, event: StepEvent, plan: ProvisionPlan, tables: readonly SeedTable[]) {
  if (tables.length === 0) return { inserted: {}, total: 0 };
  const result = await callControl(rt.db, plan.tenantId, 'seed_tables', [
    plan.tenantId,
    event.execution.id,
    jsonArg(tables),
  ]);
  const total = Object.values(result.inserted).reduce((a, b) => a + b, 0);
  return { inserted: result.inserted, total };
}

export async function seed(rt: Runtime, event: StepEvent): Promise<StepOutputs['Seed']> {
  const plan = planOf(event);
  return insertRows(rt, event, plan, blueprintOf(rt, plan).seed);
}

function templateOf(plan: ProvisionPlan) {
  if (!plan.template) {
    throw new ValidationError([
      { field: 'template', reason: 'this step runs only for a request with a template' },
    ]);
  }
  return plan.template;
}

/** ApplySettings: the template version, its settings and limits, recorded on the tenant for apps to read. */
export async function applySettings(rt: Runtime, event: StepEvent): Promise<StepOutputs['ApplySettings']> {
  const plan = planOf(event);
  const template = templateOf(plan);
  return callControl(rt.db, plan.tenantId, 'apply_settings', [
    plan.tenantId,
    event.execution.id,
    template.id,
    template.version,
  ]);
}

/** CreateAdminUser: the template's admin rows, with the request's email, name and password hash. */
export async function createAdminUser(
  rt: Runtime,
  event: StepEvent,
): Promise<StepOutputs['CreateAdminUser']> {
  const plan = planOf(event);
  const ref = templateOf(plan);
  const { definition } = await new TemplateStore(rt.db, rt.blueprints).version(ref.id, ref.version);
  if (!definition.adminUser) return { inserted: {}, total: 0 };
  if (!plan.adminUser)
    throw new ValidationError([{ field: 'adminUser', reason: 'the template creates an admin user' }]);
  return insertRows(rt, event, plan, fillAdminRows(definition.adminUser.rows, plan.adminUser));
}

/** LoadInitialData: the template's rows per table, in foreign-key order, each inserted once. */
export async function loadInitialData(
  rt: Runtime,
  event: StepEvent,
): Promise<StepOutputs['LoadInitialData']> {
  const plan = planOf(event);
  const ref = templateOf(plan);
  const { definition } = await new TemplateStore(rt.db, rt.blueprints).version(ref.id, ref.version);
  return insertRows(rt, event, plan, definition.initialData);
}

/** Verify: the schema's catalog must be what the blueprint version's lock says, index warnings aside. */
export async function verify(rt: Runtime, event: StepEvent): Promise<StepOutputs['Verify']> {
  const plan = planOf(event);
  const blueprint = blueprintOf(rt, plan);
  const lock = lockOf(blueprint, plan.blueprintVersion);
  const actual = await readCatalog(rt.db, plan.schemaName);
  const warned = new Set(stepOutput(event, 'CreateIndexes').warnings.map((w) => w.index));
  const diff = diffCatalog(lock.objects, actual.objects);
  const isWarnedIndex = (line: string) => {
    const name = /^index [^.]+\.(\S+) /.exec(line)?.[1];
    return name !== undefined && warned.has(name);
  };
  const missing = diff.missing.filter((line) => !isWarnedIndex(line));
  assertCatalogMatches(plan.schemaName, `${plan.blueprint} v${plan.blueprintVersion}`, { ...diff, missing });
  return {
    fingerprint: actual.fingerprint,
    tables: actual.objects.filter((o) => o.startsWith('table ')).length,
    indexes: actual.objects.filter((o) => o.startsWith('index ')).length,
    objects: actual.objects.length,
    missingIndexes: diff.missing.filter(isWarnedIndex).map((l) => /^index [^.]+\.(\S+) /.exec(l)?.[1] ?? l),
  };
}

/** A VerificationError naming what differs, unless nothing does. */
export function assertCatalogMatches(schema: string, version: string, diff: CatalogDiff): void {
  const { missing, unexpected, changed } = diff;
  if (missing.length === 0 && unexpected.length === 0 && changed.length === 0) return;
  const sample = [
    ...missing.map((m) => `missing ${m}`),
    ...unexpected.map((u) => `unexpected ${u}`),
    ...changed.map((c) => `changed ${c.key}: ${c.actual}`),
  ];
  throw new VerificationError(
    `schema ${schema} does not match blueprint ${version}: ` +
      `${missing.length} missing, ${unexpected.length} unexpected, ${changed.length} changed ` +
      `(${sample.slice(0, 5).join('; ')}${sample.length > 5 ? '; ...' : ''})`,
    [...missing, ...changed.map((c) => c.expected)],
    [...unexpected, ...changed.map((c) => c.actual)],
  );
}

export async function register(rt: Runtime, event: StepEvent): Promise<StepOutputs['Register']> {
  const plan = planOf(event);
  const verified = stepOutput(event, 'Verify');
  // A restore loads its rows instead of seeding them.
  const loaded = event.state.steps?.Seed
    ? stepOutput(event, 'Seed').total
    : stepOutput(event, 'RestoreRows').inserted;
  const indexes = stepOutput(event, 'CreateIndexes');
  const summary = {
    ...(plan.template ? { template: plan.template.id, templateVersion: plan.template.version } : {}),
    blueprint: plan.blueprint,
    blueprintVersion: plan.blueprintVersion,
    schema: plan.schemaName,
    tables: verified.tables,
    indexes: verified.indexes,
    ...(plan.restore ? { restoredRows: loaded } : { seedRows: loaded }),
    fingerprint: verified.fingerprint,
    durationMs: Math.max(0, Date.now() - Date.parse(event.execution.startTime)),
  };
  const registerTenant = (db: SqlExecutor) =>
    callControl(db, plan.tenantId, 'register_tenant', [
      plan.tenantId,
      event.execution.id,
      jsonArg(summary),
      jsonArg([...indexes.warnings, ...(plan.warnings ?? [])]),
    ]);
  if (!plan.restore) return { ...(await registerTenant(rt.db)), summary };
  // TenantRestored with the change (in its transaction, or right after its commit on EventBridge;
  // a retry publishes it again under the same key): until then the apps' caches may hold the
  // tenant as gone (410), or its id and hosts as unknown while it was being restored.
  const result = await changeAndPublish(rt.db, async (tx) => ({
    result: await registerTenant(tx),
    event: {
      type: 'TenantRestored' satisfies TenantEventType,
      key: `TenantRestored:${event.execution.id}`,
      detail: {
        tenantId: plan.tenantId,
        schema: plan.schemaName,
        version: plan.blueprintVersion,
        domains: plan.domains ?? [],
        executionId: event.execution.id,
      },
    },
  }));
  return { ...result, summary };
}

export interface CleanupOutput {
  readonly step: string;
  readonly error: string;
  readonly cause: string;
  readonly owned: boolean;
  readonly droppedSchema: boolean;
}

/**
 * Cleanup (the Catch target): drops what this execution created, marks the tenant failed with the
 * step and error, and returns the error for the Fail state. Never touches a tenant it does not own.
 * A tenant that was to have a login loses it, and its secret: after the control function, which
 * waits for a CreateLogin in flight (its transaction holds the tenant's row), so no secret is
 * written after this deletes it; a retried Cleanup deletes it again (a no-op once it is gone).
 */
export async function cleanup(
  rt: Runtime,
  event: StepEvent,
  status: 'failed' | 'cancelled' = 'failed',
): Promise<CleanupOutput> {
  const base = caughtFailure(event);
  const { step } = base;
  const tenantId = event.state.tenantId;
  // A request refused for its id never reached the database: there is nothing to undo or record.
  if (typeof tenantId !== 'string' || tenantIdProblem(tenantId))
    return { ...base, owned: false, droppedSchema: false };
  await ensureControlSchema(rt.db);
  const detail = { error: base.error, cause: causeMessage(base.cause) };
  const result = await callControl(rt.db, tenantId, 'cleanup_tenant', [
    tenantId,
    event.execution.id,
    step,
    jsonArg(detail),
    status,
  ]);
  if (result.loginRole) await (await tenantLoginSecrets()).remove({ tenantId, username: result.loginRole });
  return { ...base, owned: result.owned, droppedSchema: result.droppedSchema };
}

export function errorName(error: unknown): string {
  return error instanceof TenantryError || error instanceof Error ? error.name : 'Error';
}

export type { ExecutionRef };
