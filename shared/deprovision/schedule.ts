import { createHash } from 'node:crypto';
import { ValidationError } from '../errors';
import { callControl, jsonArg } from '../registry/call';
import { ensureControlSchema } from '../registry/control';
import type { SqlClient } from '../sql/port';
import { parseOrThrow } from '../validation';
import { type DeprovisionRequest, DeprovisionRequestSchema } from './schemas';

/** What fires a scheduled deletion: EventBridge Scheduler on AWS, the local scheduler locally. */
export interface DeletionScheduler {
  /** Arrange for the Deprovision workflow to start at `dueAt` with `input`, named `name`. */
  create(schedule: {
    readonly name: string;
    readonly dueAt: Date;
    readonly input: DeprovisionRequest;
  }): Promise<void>;
  /** Call it off; a schedule that is already gone is fine. */
  delete(name: string): Promise<void>;
}

export interface ScheduledDeletion {
  readonly scheduleName: string;
  readonly tenantId: string;
  readonly dueAt: string;
}

/**
 * A schedule's name: the tenant and request, so a retried request names the same schedule (and
 * the same execution when it fires). EventBridge Scheduler names hold at most 64 characters.
 */
export function scheduleNameFor(tenantId: string, dueAt: Date): string {
  const digest = createHash('sha256').update(`${tenantId}|${dueAt.toISOString()}`).digest('hex').slice(0, 12);
  return `deprovision-${tenantId}-${digest}`.slice(0, 64);
}

/**
 * Schedules a deprovisioning after a grace period: the tenant shows `scheduled_for_deletion` and
 * the due time at once; a second schedule is a conflict. If the scheduler refuses, the registry
 * change is undone, so the tenant is never marked for a deletion nothing will run.
 */
export async function scheduleDeprovision(
  db: SqlClient,
  scheduler: DeletionScheduler,
  input: unknown,
  now: Date = new Date(),
): Promise<ScheduledDeletion> {
  const request = parseOrThrow(DeprovisionRequestSchema, input);
  if (request.gracePeriodHours <= 0) {
    throw new ValidationError([
      { field: 'gracePeriodHours', reason: 'must be above 0 to schedule; 0 deprovisions now' },
    ]);
  }
  await ensureControlSchema(db);
  const dueAt = new Date(now.getTime() + request.gracePeriodHours * 3_600_000);
  const scheduleName = scheduleNameFor(request.tenantId, dueAt);
  const runInput: DeprovisionRequest = { ...request, gracePeriodHours: 0, scheduleName };
  await callControl(db, request.tenantId, 'schedule_deletion', [
    jsonArg({ tenantId: request.tenantId, dueAt: dueAt.toISOString(), scheduleName, input: runInput }),
  ]);
  try {
    await scheduler.create({ name: scheduleName, dueAt, input: runInput });
  } catch (error) {
    await callControl(db, request.tenantId, 'cancel_deletion', [
      request.tenantId,
      'tenantry (scheduler refused)',
    ]);
    throw error;
  }
  return { scheduleName, tenantId: request.tenantId, dueAt: dueAt.toISOString() };
}

/** Cancels a scheduled deletion and gives the tenant back its status; nothing is lost. */
export async function cancelScheduledDeprovision(
  db: SqlClient,
  scheduler: DeletionScheduler,
  tenantId: string,
  actor: string,
): Promise<{ scheduleName: string; status: string }> {
  await ensureControlSchema(db);
  const result = await callControl(db, tenantId, 'cancel_deletion', [tenantId, actor]);
  await scheduler.delete(result.scheduleName);
  return result;
}
