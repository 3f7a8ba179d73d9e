// `tenantry/client`: talk to a Tenantry HTTP API, deployed (SigV4-signed with the default AWS
// credential chain) or local (`tenantry serve`, `npm start`).

// In process: the tenant a request is for, cached, on the application's own connection, and a
// transaction (or a pg client) bound to that tenant's role and schema.
export type { ResolvedTenant, ResolveKey } from '../shared/registry/resolve';
export { sqlClientOfPool } from '../shared/sql/postgres';
export type { ApiClientOptions, ApiResponse } from './api-client';
export { ApiClient, regionOf } from './api-client';
export type {
  OutboxFollower,
  PgPoolClientLike,
  PgPoolLike,
  TenantLookup,
  TenantPoolClient,
  TenantResolverOptions,
  TenantryBusEvent,
  TenantryOutboxRow,
} from './tenant-resolver';
export { TenantResolver } from './tenant-resolver';
