// The library of the `tenantry` package (`import { ... } from 'tenantry'`): the SQL port and its
// adapters, blueprints, the typed errors, resolveTenant (what GET /resolve answers, for an
// application's own connection), and the local engine with the HTTP API it serves, for an
// application's own tests or tools. The CDK constructs are `tenantry/cdk`, the HTTP client
// `tenantry/client`, each Lambda handler `tenantry/handlers/<workflow>/<step>`.
export type { Blueprint, BlueprintListing, IndexDefinition, Migration } from '../shared/blueprint';
export { BlueprintCatalog, defaultBlueprintsDir } from '../shared/blueprint';
export type { DatabaseConfig } from '../shared/config';
export { databaseConfigFromEnv } from '../shared/config';
export { normaliseHost } from '../shared/domains';
export * from '../shared/errors';
export type { ResolvedTenant, ResolveKey } from '../shared/registry/resolve';
export { resolveOutcome, resolveTenant } from '../shared/registry/resolve';
export { openDatabase } from '../shared/sql/connect';
export type {
  QueryOptions,
  SqlBackend,
  SqlClient,
  SqlExecutor,
  SqlParam,
  SqlResult,
  SqlRow,
  SqlTransaction,
} from '../shared/sql/port';
export { sqlClientOfPool } from '../shared/sql/postgres';
export type { ExecutionRecord, LocalEngineOptions, StartResult } from './engine';
export { LocalEngine } from './engine';
export type { ApiServer, ApiServerOptions } from './server';
export { startApiServer } from './server';
