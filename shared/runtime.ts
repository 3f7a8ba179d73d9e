import { AsyncLocalStorage } from 'node:async_hooks';
import { BlueprintCatalog } from './blueprint';
import { databaseConfigFromEnv } from './config';
import { openDatabase } from './sql/connect';
import type { SqlClient } from './sql/port';

/**
 * What a handler runs against. On Lambda: one client per container, opened from the environment
 * at first use. In the local engine and tests: whatever client the caller scopes with
 * `withRuntime`, so several engines (PGlite, a server, the Data API) can share one process.
 */
export interface Runtime {
  readonly db: SqlClient;
  readonly blueprints: BlueprintCatalog;
}

const scoped = new AsyncLocalStorage<Runtime>();
let fromEnv: Promise<Runtime> | undefined;

export function withRuntime<T>(runtime: Runtime, fn: () => Promise<T>): Promise<T> {
  return scoped.run(runtime, fn);
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
