import type { z } from 'zod';
import type { Blueprint, BlueprintLockVersion } from '../blueprint';
import { diffCatalog, readCatalog } from '../catalog';
import { BlueprintError, TenantryError, ValidationError, VerificationError } from '../errors';
import { ensureControlSchema, mapControlError } from '../registry/control';
import type { Runtime } from '../runtime';
import type { SqlParam } from '../sql/port';
import { schemaNameFor, tenantIdProblem } from '../tenant-id';
import {
  CaughtErrorSchema,
  type ExecutionRef,
  type ProvisionPlan,
  ProvisionRequestSchema,
  type StepEvent,
  StepOutputSchemas,
  type StepOutputs,
} from './schemas';

/** Turns zod issues into one ValidationError naming every offending field. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, prefix = ''): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(
    result.error.issues.map((i) => ({ field: prefix + (i.path.join('.') || '(input)'), reason: i.message })),
  );
}

/** One call of a control function: `SELECT tenantry.fn($1, ...) AS result`, errors typed. */
async function callControl<T>(
  rt: Runtime,
  tenantId: string,
  fn: string,
  params: readonly SqlParam[],
): Promise<T> {
  const placeholders = params.map((_, i) => `$${i + 1}`).join(', ');
  try {
    const { rows } = await rt.db.query<{ result: T }>(
      `SELECT tenantry.${fn}(${placeholders}) AS result`,
      params,
    );
    const row = rows[0];
    if (!row) throw new Error(`tenantry.${fn} returned no row`);
    return row.result;
  } catch (error) {
    throw mapControlError(error, tenantId);
  }
}

function stepOutput<K extends keyof StepOutputs>(event: StepEvent, step: K): StepOutputs[K] {
  const raw = event.state.steps?.[step]?.output;
  if (raw === undefined)
    throw new ValidationError([{ field: `state.steps.${step}`, reason: 'missing: that step has not run' }]);
  return parseOrThrow(
    StepOutputSchemas[step] as unknown as z.ZodType<StepOutputs[K]>,
    raw,
    `state.steps.${step}.output.`,
  );
}

function planOf(event: StepEvent): ProvisionPlan {
  const { claimed: _c, previousStatus: _p, ...plan } = stepOutput(event, 'Validate');
  return plan;
}

function blueprintOf(rt: Runtime, plan: ProvisionPlan): Blueprint {
  const blueprint = rt.blueprints.get(plan.blueprint);
  if (blueprint.version !== plan.blueprintVersion) {
    throw new BlueprintError(
      `blueprint ${plan.blueprint} is at version ${blueprint.version}, this execution planned version ${plan.blueprintVersion}`,
    );
  }
  return blueprint;
}

/** The catalog a blueprint version must produce; refused when missing or recorded for other migrations. */
function lockOf(blueprint: Blueprint, version: number): BlueprintLockVersion {
  const lock = blueprint.lock[String(version)];
  const relock = `run 'tenantry blueprint lock ${blueprint.name}' and commit ${blueprint.name}/blueprint.lock.json`;
  if (!lock)
    throw new BlueprintError(`blueprint ${blueprint.name} v${version} has no catalog lock: ${relock}`);
  const changed = blueprint.migrations
    .filter((m) => lock.migrations[m.name] !== m.checksum)
    .map((m) => m.name);
  if (changed.length > 0) {
    throw new BlueprintError(
      `blueprint ${blueprint.name} v${version} lock is stale (${changed.join(', ')} changed): ${relock}`,
    );
  }
  return lock;
}

/** Validate: check the request, then claim the tenant for this execution. Nothing is created on bad input. */
export async function validate(rt: Runtime, event: StepEvent): Promise<StepOutputs['Validate']> {
  const { steps: _s, failure: _f, ...input } = event.state;
  const request = parseOrThrow(ProvisionRequestSchema, input);
  const blueprint = rt.blueprints.get(request.blueprint);
  const plan: ProvisionPlan = {
    tenantId: request.tenantId,
    displayName: request.displayName,
    schemaName: schemaNameFor(request.tenantId),
    blueprint: blueprint.name,
    blueprintVersion: blueprint.version,
    requestedBy: request.requestedBy,
  };
  lockOf(blueprint, blueprint.version);
  await ensureControlSchema(rt.db);
  const claim = await callControl<{ claimed: boolean; previousStatus: string | null }>(
    rt,
    plan.tenantId,
    'claim_tenant',
    [JSON.stringify({ ...plan, executionId: event.execution.id })],
  );
  return { ...plan, ...claim };
}

export async function createSchema(rt: Runtime, event: StepEvent): Promise<StepOutputs['CreateSchema']> {
  const plan = planOf(event);
  return callControl(rt, plan.tenantId, 'create_tenant_schema', [plan.tenantId, event.execution.id]);
}

export async function syncTables(rt: Runtime, event: StepEvent): Promise<StepOutputs['SyncTables']> {
  const plan = planOf(event);
  const blueprint = blueprintOf(rt, plan);
  const migrations = blueprint.migrations.map(({ version, name, checksum, sql }) => ({
    version,
    name,
    checksum,
    sql,
  }));
  const result = await callControl<{ applied: number[] }>(rt, plan.tenantId, 'sync_migrations', [
    plan.tenantId,
    event.execution.id,
    JSON.stringify(migrations),
  ]);
  return { applied: result.applied, version: blueprint.version };
}

export async function createIndexes(rt: Runtime, event: StepEvent): Promise<StepOutputs['CreateIndexes']> {
  const plan = planOf(event);
  const blueprint = blueprintOf(rt, plan);
  const indexes = blueprint.indexes.map(({ name, sql }) => ({ name, sql }));
  return callControl(rt, plan.tenantId, 'create_indexes', [
    plan.tenantId,
    event.execution.id,
    JSON.stringify(indexes),
  ]);
}

export async function seed(rt: Runtime, event: StepEvent): Promise<StepOutputs['Seed']> {
  const plan = planOf(event);
  const blueprint = blueprintOf(rt, plan);
  if (blueprint.seed.length === 0) return { inserted: {}, total: 0 };
  const result = await callControl<{ inserted: Record<string, number> }>(rt, plan.tenantId, 'seed_tables', [
    plan.tenantId,
    event.execution.id,
    JSON.stringify(blueprint.seed),
  ]);
  const total = Object.values(result.inserted).reduce((a, b) => a + b, 0);
  return { inserted: result.inserted, total };
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
  if (missing.length > 0 || diff.unexpected.length > 0) {
    const sample = [...missing.map((m) => `missing ${m}`), ...diff.unexpected.map((u) => `unexpected ${u}`)];
    throw new VerificationError(
      `schema ${plan.schemaName} does not match blueprint ${plan.blueprint} v${plan.blueprintVersion}: ` +
        `${missing.length} missing, ${diff.unexpected.length} unexpected (${sample.slice(0, 5).join('; ')}${sample.length > 5 ? '; ...' : ''})`,
      missing,
      diff.unexpected,
    );
  }
  return {
    fingerprint: actual.fingerprint,
    tables: actual.objects.filter((o) => o.startsWith('table ')).length,
    indexes: actual.objects.filter((o) => o.startsWith('index ')).length,
    objects: actual.objects.length,
    missingIndexes: diff.missing.filter(isWarnedIndex).map((l) => /^index [^.]+\.(\S+) /.exec(l)?.[1] ?? l),
  };
}

export async function register(rt: Runtime, event: StepEvent): Promise<StepOutputs['Register']> {
  const plan = planOf(event);
  const verified = stepOutput(event, 'Verify');
  const seeded = stepOutput(event, 'Seed');
  const indexes = stepOutput(event, 'CreateIndexes');
  const summary = {
    blueprint: plan.blueprint,
    blueprintVersion: plan.blueprintVersion,
    schema: plan.schemaName,
    tables: verified.tables,
    indexes: verified.indexes,
    seedRows: seeded.total,
    fingerprint: verified.fingerprint,
    durationMs: Math.max(0, Date.now() - Date.parse(event.execution.startTime)),
  };
  const result = await callControl<{
    status: string;
    provisionedAt: string | null;
    alreadyRegistered: boolean;
  }>(rt, plan.tenantId, 'register_tenant', [
    plan.tenantId,
    event.execution.id,
    JSON.stringify(summary),
    JSON.stringify(indexes.warnings),
  ]);
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
 */
export async function cleanup(
  rt: Runtime,
  event: StepEvent,
  status: 'failed' | 'cancelled' = 'failed',
): Promise<CleanupOutput> {
  const [step, caught] = Object.entries(event.state.failure ?? {})[0] ?? [
    'unknown',
    { Error: 'Unknown', Cause: '' },
  ];
  const error = CaughtErrorSchema.parse(caught);
  const base = { step, error: error.Error, cause: error.Cause ?? '' };
  const tenantId = event.state.tenantId;
  // A request refused for its id never reached the database: there is nothing to undo or record.
  if (typeof tenantId !== 'string' || tenantIdProblem(tenantId))
    return { ...base, owned: false, droppedSchema: false };
  await ensureControlSchema(rt.db);
  const detail = { error: error.Error, cause: summariseCause(error.Cause) };
  const result = await callControl<{ owned: boolean; droppedSchema: boolean }>(
    rt,
    tenantId,
    'cleanup_tenant',
    [tenantId, event.execution.id, step, JSON.stringify(detail), status],
  );
  return { ...base, owned: result.owned, droppedSchema: result.droppedSchema };
}

/** A Lambda error's Cause is a JSON string ({errorType, errorMessage, trace}); keep the message. */
function summariseCause(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: the cause is the message itself
  }
  return cause;
}

export function errorName(error: unknown): string {
  return error instanceof TenantryError || error instanceof Error ? error.name : 'Error';
}

export type { ExecutionRef };
