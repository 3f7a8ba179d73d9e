import { AsyncLocalStorage } from 'node:async_hooks';
import { BlueprintCatalog } from './blueprint';
import { databaseConfigFromEnv } from './config';
import type { DeletionScheduler } from './deprovision/schedule';
import type { WorkflowEngine } from './engine/port';
import type { MetricRecorder } from './observability/metrics';
import { openDatabase } from './sql/connect';
import type { SqlClient } from './sql/port';

/**
 * What a handler runs against. On Lambda: one client per container, opened from the environment
 * at init (`openAtInit`). In the local engine and tests: whatever client the caller scopes with
 * `withRuntime`, so several engines (PGlite, a server, the Data API) can share one process.
 */
export interface Runtime {
  readonly db: SqlClient;
  readonly blueprints: BlueprintCatalog;
  /**
   * The engine that runs workflows, for the API routes. The local server scopes the local engine
   * here; on Lambda it is absent and `shared/api/runtime.ts` supplies Step Functions.
   */
  readonly engine?: WorkflowEngine;
  /**
   * What fires scheduled deprovisionings, for the API routes: the local server scopes its local
   * scheduler here; on Lambda it is absent and `shared/api/runtime.ts` supplies EventBridge Scheduler.
   */
  readonly scheduler?: DeletionScheduler;
  /**
   * Where the metrics the handlers emit are counted, for `GET /stats`: the local engine's counter
   * (local/metrics.ts). On Lambda it is absent: the EMF lines go to CloudWatch.
   */
  readonly metrics?: MetricRecorder;
}

const scoped = new AsyncLocalStorage<Runtime>();
let fromEnv: Promise<Runtime> | undefined;

export function withRuntime<T>(runtime: Runtime, fn: () => Promise<T>): Promise<T> {
  return scoped.run(runtime, fn);
}

/** The runtime `withRuntime` scoped for this call, if any; never opens anything. */
export function scopedRuntime(): Runtime | undefined {
  return scoped.getStore();
}

/**
 * On Lambda, opens the runtime now, at init, for a handler that will use it: the Data API client is
 * loaded and made before the first invocation. An on-demand function's init runs on a whole vCPU,
 * its invocations on the memory's share of one (about a seventh at 256 MB), so the same load in the
 * first invocation takes several times as long. A failure (a bad environment) is left for the
 * first invocation to report, as it would be without this. Outside a Lambda bundle it does
 * nothing: the local engine, the CLI and the tests scope their own runtime (`withRuntime`).
 */
export function openAtInit(): void {
  if (process.env.TENANTRY_BUNDLE !== 'lambda') return;
  runtime().catch(() => {});
}

export function runtime(): Promise<Runtime> {
  const current = scoped.getStore();
  if (current) return Promise.resolve(current);
  fromEnv ??= openDatabase(databaseConfigFromEnv()).then((db) => ({
    db,
    blueprints: new BlueprintCatalog(),
  }));
  fromEnv.catch(() => {
    fromEnv = undefined;
  });
  return fromEnv;
}
