import { EventBridgeDeletionScheduler } from '../deprovision/eventbridge-scheduler';
import type { DeletionScheduler } from '../deprovision/schedule';
import type { WorkflowEngine } from '../engine/port';
import { sfnEngineFromEnv } from '../engine/sfn';
import { type Runtime, runtime, scopedRuntime } from '../runtime';

/** A Runtime with its workflow engine resolved. */
export interface ApiRuntime extends Runtime {
  readonly engine: WorkflowEngine;
}

/**
 * What an API route runs against: the scoped runtime (the local server scopes the local engine),
 * or on Lambda the database from the environment and Step Functions.
 */
export async function apiRuntime(): Promise<ApiRuntime> {
  const rt = await runtime();
  return { ...rt, engine: rt.engine ?? sfnEngineFromEnv() };
}

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

/** What a route that only reads the engine runs against: no database is opened for it. */
export interface EngineRuntime {
  readonly engine: WorkflowEngine;
}

/** The engine alone: the scoped one (local server), or Step Functions on Lambda. */
export function engineRuntime(): EngineRuntime {
  return { engine: scopedRuntime()?.engine ?? sfnEngineFromEnv() };
}
