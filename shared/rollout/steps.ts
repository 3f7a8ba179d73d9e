import type { z } from 'zod';
import { backupStore } from '../blobs/connect';
import { ValidationError } from '../errors';
import { causeMessage } from '../progress';
import { CaughtErrorSchema, type StepEvent } from '../provision/schemas';
import { callControl, jsonArg } from '../registry/call';
import { ensureControlSchema } from '../registry/control';
import type { Runtime } from '../runtime';
import { caughtFailure, stepOutput } from '../step-state';
import { parseOrThrow } from '../validation';
import { beginRollout, planRollout } from './plan';
import { type RolloutInput, RolloutInputSchema, RolloutOutputSchemas } from './schemas';

/**
 * The Rollout workflow's steps: Select (plan the waves and record them, or resume), NextWave
 * (the next wave's tenants, written where the Map's ItemReader reads them), the Map that starts
 * a Migrate execution per tenant (statemachine/rollout.ts), FinishWave (each tenant's outcome,
 * and a halt when the wave's failures pass its tolerance), and Cleanup. The rollout's state is in
 * the control schema (rollouts, rollout_tenants); each step is one control function call.
 */

type Outputs = { [K in keyof typeof RolloutOutputSchemas]: z.infer<(typeof RolloutOutputSchemas)[K]> };

function inputOf(event: StepEvent): RolloutInput {
  const { steps: _s, failure: _f, ...input } = event.state;
  return parseOrThrow(RolloutInputSchema, input);
}

function output<K extends keyof Outputs>(event: StepEvent, step: K): Outputs[K] {
  return stepOutput(event, step, RolloutOutputSchemas[step] as unknown as z.ZodType<Outputs[K]>);
}

/** Select: a new rollout's plan recorded (tenants and waves fixed from here on), or a resumed one. */
export async function select(rt: Runtime, event: StepEvent): Promise<Outputs['Select']> {
  const input = inputOf(event);
  await ensureControlSchema(rt.db);
  const { rolloutId, ...request } = input;
  // A rollout that exists (resumed, or this Select retried) keeps the plan it began with.
  const { rows } = await rt.db.query('SELECT 1 FROM tenantry.rollouts WHERE rollout_id = $1', [rolloutId]);
  const plan =
    rows.length > 0 ? undefined : await planRollout(rt.db, rt.blueprints.get(request.blueprint), request);
  const begun = await beginRollout(rt.db, rolloutId, event.execution.id, request, plan);
  return { ...begun, concurrency: request.concurrency };
}

/** Where a wave's items go: the backup store (S3 on AWS, the backup folder locally). */
function bucketOf(location: string): string {
  return /^s3:\/\/([^/]+)\//.exec(location)?.[1] ?? 'local';
}

/** NextWave: pause, cancel, done, or the next wave, its items written for the Map to read. */
export async function nextWave(rt: Runtime, event: StepEvent): Promise<Outputs['NextWave']> {
  const { rolloutId } = inputOf(event);
  const next = await callControl(rt.db, rolloutId, 'next_wave', [rolloutId, event.execution.id]);
  if (next.action !== 'wave') return { action: next.action };
  const store = await backupStore();
  const key = `rollouts/${rolloutId}/wave-${next.wave}-${event.execution.name}.json`;
  await store.put(key, JSON.stringify(next.items), { contentType: 'application/json', retention: 'expire' });
  return {
    action: 'wave',
    wave: next.wave,
    bucket: bucketOf(store.location(key)),
    key,
    tenants: next.items.length,
    toleratedFailureCount: next.toleratedFailureCount,
    toleratedFailurePercentage: next.toleratedFailurePercentage,
  };
}

/** FinishWave: each tenant's outcome from its migration; a halt when the failures pass the wave's tolerance. */
export async function finishWave(rt: Runtime, event: StepEvent): Promise<Outputs['FinishWave']> {
  const { rolloutId } = inputOf(event);
  const { wave } = output(event, 'NextWave');
  if (wave === undefined)
    throw new ValidationError([{ field: 'state.steps.NextWave.output.wave', reason: 'no wave ran' }]);
  // The Map's error, when it stopped early: its tolerance passed, a cancel, items it could not read.
  const failure = CaughtErrorSchema.safeParse(event.state.waveFailure);
  const mapError = failure.success
    ? `${failure.data.Error}: ${failure.data.Cause ?? ''}`.slice(0, 2000)
    : null;
  return callControl(rt.db, rolloutId, 'finish_wave', [rolloutId, event.execution.id, wave, mapError]);
}

export interface RolloutCleanupOutput {
  readonly step: string;
  readonly error: string;
  readonly cause: string;
  readonly owned: boolean;
  readonly status: string | null;
}

/** Cleanup: the rollout's own machinery failed; it is halted with the error, to be resumed. */
export async function cleanup(rt: Runtime, event: StepEvent): Promise<RolloutCleanupOutput> {
  const base = caughtFailure(event);
  const { step } = base;
  const rolloutId = event.state.rolloutId;
  if (typeof rolloutId !== 'string') return { ...base, owned: false, status: null };
  await ensureControlSchema(rt.db);
  const result = await callControl(rt.db, rolloutId, 'rollout_cleanup', [
    rolloutId,
    event.execution.id,
    step,
    jsonArg({ error: base.error, cause: causeMessage(base.cause) }),
  ]);
  return { ...base, ...result };
}
