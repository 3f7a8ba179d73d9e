import { EventBridgeDeletionScheduler } from '../deprovision/eventbridge-scheduler';
import type { DeletionScheduler } from '../deprovision/schedule';
import type { Runtime } from '../runtime';

let eventBridge: EventBridgeDeletionScheduler | undefined;

/**
 * The deletion scheduler of a route that schedules or cancels deprovisionings: the scoped one
 * (the local server's), or EventBridge Scheduler on Lambda, made at first use so that routes
 * without the scheduling environment never need it.
 */
export function deletionScheduler(rt: Runtime): DeletionScheduler {
  if (rt.scheduler) return rt.scheduler;
  eventBridge ??= new EventBridgeDeletionScheduler();
  return eventBridge;
}
