import type { Blueprint } from '../blueprint';
import { ValidationError } from '../errors';
import { callControl, jsonArg } from '../registry/call';
import type { SqlExecutor } from '../sql/port';
import type {
  Canary,
  PlannedTenant,
  PlannedWave,
  RolloutPlan,
  RolloutRequest,
  Size,
  SkippedTenant,
  Threshold,
} from './schemas';

/** How many tenants a size means out of `total`: a percentage rounds up, and is at least one. */
function sizeOf(size: Size, total: number): number {
  const n = 'count' in size ? size.count : Math.ceil((total * size.percent) / 100);
  return Math.min(total, Math.max(1, n));
}

/** A wave's tolerance, as Step Functions' Map takes it: a count, or a percentage (and the count it allows). */
function tolerance(threshold: Threshold, size: number) {
  return 'count' in threshold
    ? { toleratedFailureCount: threshold.count }
    : {
        toleratedFailureCount: Math.floor((size * threshold.percent) / 100),
        toleratedFailurePercentage: threshold.percent,
      };
}

/**
 * The waves of a rollout over the tenants it may migrate (in the order given): the canary first
 * (a size, or the tenants it names, which must be among them), then waves that grow by `growth`
 * (or take `waveSizes`, the last repeated) until every tenant has one.
 */
export function planWaves(
  eligible: readonly PlannedTenant[],
  request: Pick<RolloutRequest, 'canary' | 'growth' | 'waveSizes' | 'canaryHaltAt' | 'haltAt'>,
): PlannedWave[] {
  if (eligible.length === 0) return [];
  const { canary, rest } = splitCanary(eligible, request.canary);
  const waves: PlannedWave[] = [
    { wave: 0, tenants: canary, ...tolerance(request.canaryHaltAt, canary.length) },
  ];
  let size = canary.length;
  let at = 0;
  while (at < rest.length) {
    const k = waves.length;
    size = request.waveSizes
      ? (request.waveSizes[Math.min(k - 1, request.waveSizes.length - 1)] as number)
      : Math.max(size + 1, Math.ceil(size * request.growth));
    const tenants = rest.slice(at, at + size);
    waves.push({ wave: k, tenants, ...tolerance(request.haltAt, tenants.length) });
    at += tenants.length;
  }
  return waves;
}

function splitCanary(eligible: readonly PlannedTenant[], canary: Canary) {
  if (!('tenants' in canary)) {
    const n = sizeOf(canary, eligible.length);
    return { canary: eligible.slice(0, n), rest: eligible.slice(n) };
  }
  const byId = new Map(eligible.map((t) => [t.tenantId, t]));
  const missing = canary.tenants.filter((id) => !byId.has(id));
  if (missing.length > 0) {
    throw new ValidationError([
      {
        field: 'canary.tenants',
        reason: `not among the tenants this rollout selects and may migrate: ${missing.join(', ')}`,
      },
    ]);
  }
  const named = new Set(canary.tenants);
  return {
    canary: canary.tenants.map((id) => byId.get(id) as PlannedTenant),
    rest: eligible.filter((t) => !named.has(t.tenantId)),
  };
}

type SelectedRow = { tenant_id: string; status: string; blueprint_version: number };

/** A Postgres array literal of validated names (tenant ids, statuses): no quoting needed. */
const textArray = (items: readonly string[]) => `{${items.join(',')}}`;

/**
 * The tenants a rollout selects: of the blueprint, below the target version, narrowed by the
 * selector; those it may migrate now (active) in tenant-id order, and the others with the reason
 * they are skipped. One indexed query.
 */
export async function selectTenants(
  db: SqlExecutor,
  request: Pick<RolloutRequest, 'blueprint' | 'selector'>,
  targetVersion: number,
): Promise<{ eligible: PlannedTenant[]; skipped: SkippedTenant[] }> {
  const { selector } = request;
  const { rows } = await db.query<SelectedRow>(
    `SELECT tenant_id, status, blueprint_version FROM tenantry.tenants
      WHERE blueprint = $1 AND blueprint_version < $2
        AND ($3::text[] IS NULL OR tenant_id = ANY ($3::text[]))
        AND ($4::text IS NULL OR template_id = $4)
        AND status = ANY ($5::text[])
        AND ($6::jsonb IS NULL OR labels @> $6::jsonb)
      ORDER BY tenant_id`,
    [
      request.blueprint,
      targetVersion,
      selector.tenantIds ? textArray(selector.tenantIds) : null,
      selector.template ?? null,
      textArray(selector.statuses ?? ['active']),
      selector.labels ? JSON.stringify(selector.labels) : null,
    ],
  );
  const eligible: PlannedTenant[] = [];
  const skipped: SkippedTenant[] = [];
  for (const r of rows) {
    if (r.status === 'active') eligible.push({ tenantId: r.tenant_id, fromVersion: r.blueprint_version });
    else
      skipped.push({
        tenantId: r.tenant_id,
        status: r.status,
        reason: `tenant is ${r.status}: only an active tenant can be migrated`,
      });
  }
  return { eligible, skipped };
}

/** The target version a request means: the blueprint's newest unless it names one it has. */
export function targetVersionOf(blueprint: Blueprint, requested: number | undefined): number {
  const target = requested ?? blueprint.version;
  if (target > blueprint.version) {
    throw new ValidationError([
      {
        field: 'targetVersion',
        reason: `blueprint ${blueprint.name} has no v${target} (its newest is v${blueprint.version})`,
      },
    ]);
  }
  return target;
}

/** A rollout's plan, changing nothing: what `--plan` prints and a rollout then follows. */
export async function planRollout(
  db: SqlExecutor,
  blueprint: Blueprint,
  request: RolloutRequest,
): Promise<RolloutPlan> {
  const targetVersion = targetVersionOf(blueprint, request.targetVersion);
  const { eligible, skipped } = await selectTenants(db, request, targetVersion);
  const waves = planWaves(eligible, request);
  const fromVersions = [...new Set(eligible.map((t) => t.fromVersion))].sort((a, b) => a - b);
  const migrations = Object.fromEntries(
    fromVersions.map((from) => [
      String(from),
      blueprint.migrations.filter((m) => m.version > from && m.version <= targetVersion).map((m) => m.name),
    ]),
  );
  return {
    blueprint: blueprint.name,
    targetVersion,
    selected: eligible.length + skipped.length,
    waves,
    skipped,
    migrations,
    concurrency: request.concurrency,
  };
}

/**
 * Records a rollout for the execution that runs it (begin_rollout): from its plan when it is new,
 * resumed when it is paused or halted, and nothing more when that execution already has it. Called
 * by POST /rollouts before it starts the execution (so the rollout reads as running at once) and
 * by the execution's Select (which finds it so, or makes it when it was started another way).
 */
export function beginRollout(
  db: SqlExecutor,
  rolloutId: string,
  executionId: string,
  request: RolloutRequest,
  plan: RolloutPlan | undefined,
) {
  return callControl(db, rolloutId, 'begin_rollout', [
    jsonArg({
      rolloutId,
      executionId,
      request,
      requestedBy: request.requestedBy,
      ...(plan
        ? {
            blueprint: plan.blueprint,
            targetVersion: plan.targetVersion,
            waves: plan.waves,
            skipped: plan.skipped,
          }
        : {}),
    }),
  ]);
}
