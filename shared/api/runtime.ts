import type { WorkflowEngine } from '../engine/port';
import { sfnEngineFromEnv } from '../engine/sfn';
import { type Runtime, runtime, scopedRuntime } from '../runtime';

/** A Runtime with its workflow engine resolved. */
export interface ApiRuntime extends Runtime {
  readonly engine: WorkflowEngine;
}

/**
 * What an API route that starts, stops or reads workflows runs against: the scoped runtime (the
 * local server scopes the local engine), or on Lambda the database from the environment and Step
 * Functions. A route that only reads the registry uses `runtime()` (shared/runtime.ts) instead, and
 * its bundle never loads the Step Functions client; the deletion scheduler is in ./scheduler.ts
 * for the same reason: each bundle loads only the SDK clients its route uses.
 */
export async function apiRuntime(): Promise<ApiRuntime> {
  const rt = await runtime();
  return { ...rt, engine: rt.engine ?? sfnEngineFromEnv() };
}

/** What a route that only reads the engine runs against: no database is opened for it. */
export interface EngineRuntime {
  readonly engine: WorkflowEngine;
}

/** The engine alone: the scoped one (local server), or Step Functions on Lambda. */
export function engineRuntime(): EngineRuntime {
  return { engine: scopedRuntime()?.engine ?? sfnEngineFromEnv() };
}
