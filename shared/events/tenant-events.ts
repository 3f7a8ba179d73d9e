// What the events Tenantry publishes are: a module of its own, without the publishers' SDK imports,
// for an application's consumer (tenantry/client's TenantResolver) to load.

/** The `Source` of every event (EventBridge), and the outbox rows' `source`. */
export const EVENT_SOURCE = 'tenantry';

/**
 * The events Tenantry publishes for the applications, each with `tenantId` in its detail: declared
 * once here. An application's cache of tenants (tenantry/client's TenantResolver) evicts the
 * tenant on each of them.
 */
export const TENANT_EVENT_TYPES = [
  /** Deprovision's Disable step: the tenant answers 410 from now on. */
  'TenantDisabled',
  /** Deprovision's Notify step: the schema is about to be dropped. */
  'TenantDeprovisioned',
  /** Migrate's Record step: the tenant is at a new blueprint version. */
  'TenantMigrated',
  /** PUT /tenants/{id}/domains changed the hosts: `domains` now, `previous` before. */
  'TenantDomainsChanged',
  /**
   * A Restore's Register step: the deprovisioned tenant is active again, holding `domains` (those
   * of its hosts no other tenant took meanwhile).
   */
  'TenantRestored',
] as const;
export type TenantEventType = (typeof TENANT_EVENT_TYPES)[number];
