import { canonicalJson, rolloutExecutionName, rolloutIdFor } from '../engine/names';
import { NotFoundError, ValidationError } from '../errors';
import { putMetric } from '../observability/metrics';
import { callControl } from '../registry/call';
import { ensureControlSchema } from '../registry/control';
import { beginRollout, planRollout } from '../rollout/plan';
import { getRollout, listRollouts, rolloutTenantsPage } from '../rollout/records';
import { RolloutRequestSchema } from '../rollout/schemas';
import type { Runtime } from '../runtime';
import { parseOrThrow } from '../validation';
import type { RolloutStarted } from './responses';
import type { ApiRuntime } from './runtime';
import type { PageQuery, RolloutBody } from './schemas';

/**
 * The rollout routes: a blueprint version to the fleet, in waves (the Rollout workflow), planned,
 * started, read while it runs, paused, resumed and cancelled.
 */

const statusUrl = (rolloutId: string) => `/rollouts/${rolloutId}`;

/** `POST /rollouts/plan`: the waves a rollout would run, changing nothing. */
export async function planRolloutRoute(rt: Runtime, body: RolloutBody, requestedBy: string) {
  const request = parseOrThrow(RolloutRequestSchema, { ...body, requestedBy });
  await ensureControlSchema(rt.db);
  return planRollout(rt.db, rt.blueprints.get(request.blueprint), request);
}

/**
 * `POST /rollouts`: start a rollout. Idempotent: the rollout id is made from the request (without
 * who sent it, with its target version resolved), so the same request answers with the same
 * rollout, running or ended. Refused up front (400) when its plan would be: an unknown blueprint or
 * version, canary tenants it may not migrate, or nothing to migrate at all.
 */
export async function startRollout(
  rt: ApiRuntime,
  body: RolloutBody,
  requestedBy: string,
): Promise<RolloutStarted> {
  const parsed = parseOrThrow(RolloutRequestSchema, { ...body, requestedBy });
  const blueprint = rt.blueprints.get(parsed.blueprint);
  // "The newest version" is settled now: the same request sent after the blueprint gained a
  // version is another rollout, and the execution migrates to what its id was made from.
  const request = { ...parsed, targetVersion: parsed.targetVersion ?? blueprint.version };
  const { requestedBy: _by, ...key } = request;
  const rolloutId = rolloutIdFor(canonicalJson(key));
  await ensureControlSchema(rt.db);
  const existing = await getRollout(rt.db, rolloutId);
  const name = existing?.executionId?.split(':').at(-1) ?? rolloutExecutionName(rolloutId, '');
  if (!existing) {
    const plan = await planRollout(rt.db, blueprint, request);
    if (plan.waves.length === 0) {
      throw new ValidationError([
        {
          field: 'selector',
          reason: `no tenant of ${plan.blueprint} below v${plan.targetVersion} to migrate (${plan.skipped.length} skipped)`,
        },
      ]);
    }
    // Recorded for its execution before that starts: GET /rollouts/{id} answers from the 202 on.
    // A start lost after this is made again by the same request sent again (the name is kept).
    await beginRollout(rt.db, rolloutId, rt.engine.executionArn(name, 'Rollout'), request, plan);
  }
  const started = await rt.engine.start(name, rolloutId, { ...request, rolloutId }, 'Rollout');
  return {
    rolloutId,
    executionId: started.executionId,
    executionName: started.name,
    started: started.started && !existing,
    statusUrl: statusUrl(rolloutId),
  };
}

/** `GET /rollouts`: newest first, paged. */
export async function listRolloutsRoute(rt: Runtime, query: PageQuery) {
  await ensureControlSchema(rt.db);
  const items = await listRollouts(rt.db, query.limit, query.nextToken);
  const last = items.at(-1);
  return { items, ...(items.length === query.limit && last ? { nextToken: last.rolloutId } : {}) };
}

/** `GET /rollouts/{rolloutId}`: the rollout, its counts per status and wave, and its tenants (paged, by wave). */
export async function getRolloutRoute(rt: Runtime, rolloutId: string, query: PageQuery) {
  await ensureControlSchema(rt.db);
  const rollout = await getRollout(rt.db, rolloutId);
  if (!rollout) throw new NotFoundError(`no rollout '${rolloutId}'`, { field: 'rolloutId' });
  const after = query.nextToken ? parseToken(query.nextToken) : undefined;
  const tenants = await rolloutTenantsPage(rt.db, rolloutId, query.limit, after);
  const last = tenants.at(-1);
  return {
    ...rollout,
    tenants,
    ...(tenants.length === query.limit && last ? { nextToken: `${last.wave}:${last.tenantId}` } : {}),
  };
}

function parseToken(token: string): { wave: number; tenantId: string } {
  const m = /^(-?\d{1,6}):([a-z0-9_-]{1,64})$/.exec(token);
  if (!m) throw new ValidationError([{ field: 'nextToken', reason: 'is not a token this API gave' }]);
  return { wave: Number(m[1]), tenantId: m[2] as string };
}

/**
 * `POST /rollouts/{rolloutId}/pause|cancel`: a request the running rollout honours (pause before
 * its next wave, cancel before its next tenant); a paused or halted rollout is cancelled at once.
 */
export async function requestRollout(
  rt: Runtime,
  rolloutId: string,
  action: 'pause' | 'cancel',
  actor: string,
) {
  await ensureControlSchema(rt.db);
  const result = await callControl(rt.db, rolloutId, 'rollout_request', [rolloutId, action, actor]);
  if (action === 'cancel') putMetric('WorkflowCancelled', { workflow: 'Rollout' });
  return result;
}

/**
 * `POST /rollouts/{rolloutId}/resume`: a paused or halted rollout goes on in a new execution, its
 * failed tenants tried again. Idempotent: a resume sent again while that execution runs answers
 * with it, and one resume of one stop is one execution (its name is made from the stopped one).
 */
export async function resumeRollout(rt: ApiRuntime, rolloutId: string, actor: string) {
  await ensureControlSchema(rt.db);
  const rollout = await getRollout(rt.db, rolloutId);
  if (!rollout) throw new NotFoundError(`no rollout '${rolloutId}'`, { field: 'rolloutId' });
  if (rollout.status === 'running' && rollout.executionId) {
    // Resumed already (a resume sent again): that execution, started now if its start was lost.
    const name = rollout.executionId.split(':').at(-1) as string;
    const running = await rt.engine.describe(rollout.executionId);
    const started = running
      ? { name, started: false }
      : await rt.engine.start(name, rolloutId, { ...rollout.request, rolloutId }, 'Rollout');
    return {
      rolloutId,
      status: rollout.status,
      pauseRequested: rollout.pauseRequested,
      cancelRequested: rollout.cancelRequested,
      executionName: started.name,
      started: started.started,
    };
  }
  // The rollout is handed to the execution first, so it reads as running from now on.
  const name = rolloutExecutionName(rolloutId, rollout.executionId ?? '');
  const result = await callControl(rt.db, rolloutId, 'rollout_request', [
    rolloutId,
    'resume',
    actor,
    rt.engine.executionArn(name, 'Rollout'),
  ]);
  const started = await rt.engine.start(name, rolloutId, { ...rollout.request, rolloutId }, 'Rollout');
  return { ...result, executionName: started.name, started: started.started };
}
