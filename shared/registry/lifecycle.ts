import {
  ConflictError,
  TenantBusyError,
  TenantExistsError,
  type TenantryError,
  TenantStateError,
} from '../errors';
import { quoteLiteral } from '../identifiers';

/**
 * The tenant lifecycle, defined once: every status a tenant can have, what it means, and what each
 * operation does when a request finds the tenant in it. The TypeScript union, the API's zod enum,
 * the registry's CHECK constraint and the API's pre-checks all come from here; the control
 * functions (claim_tenant, begin_deprovision, claim_restore, claim_migration) enforce the same rules in the
 * transaction that changes the status, so a pre-check is only ever an earlier, friendlier answer.
 * Adding a status is one entry here (and the control function that moves tenants into it).
 */
export const TENANT_LIFECYCLE = {
  provisioning: {
    meaning: 'a Provision or restore execution holds it',
    provision: 'busy',
    deprovision: 'busy',
    migrate: 'busy',
    resolve: 'absent',
  },
  active: {
    meaning: 'provisioned and in use',
    provision: 'exists',
    deprovision: 'allowed',
    migrate: 'allowed',
    resolve: 'serve',
  },
  migrating: {
    meaning: 'a Migrate execution is moving it to a newer blueprint version',
    provision: 'exists',
    deprovision: 'busy',
    migrate: 'busy',
    resolve: 'serve',
  },
  failed: {
    meaning: 'a workflow failed; Provision may claim it again',
    provision: 'allowed',
    deprovision: 'refused',
    migrate: 'refused',
    resolve: 'absent',
  },
  cancelled: {
    meaning: 'a Provision was cancelled; Provision may claim it again',
    provision: 'allowed',
    deprovision: 'refused',
    migrate: 'refused',
    resolve: 'absent',
  },
  disabled: {
    meaning: 'apps no longer resolve it',
    provision: 'exists',
    deprovision: 'allowed',
    migrate: 'refused',
    resolve: 'gone',
  },
  scheduled_for_deletion: {
    meaning: 'a Deprovision is scheduled for its due time',
    provision: 'exists',
    deprovision: 'scheduled',
    migrate: 'refused',
    resolve: 'serve',
  },
  deprovisioning: {
    meaning: 'a Deprovision execution holds it',
    provision: 'busy',
    deprovision: 'busy',
    migrate: 'busy',
    resolve: 'gone',
  },
  deprovisioned: {
    meaning: 'its schema is dropped; a backup may restore it',
    provision: 'exists',
    deprovision: 'refused',
    migrate: 'refused',
    resolve: 'gone',
  },
} as const satisfies Readonly<
  Record<
    string,
    {
      readonly meaning: string;
      /** A new Provision request: allowed, refused as busy (another execution holds it) or as existing. */
      readonly provision: 'allowed' | 'busy' | 'exists';
      /** A Deprovision request: allowed, busy, refused (wrong state), or already scheduled. */
      readonly deprovision: 'allowed' | 'busy' | 'refused' | 'scheduled';
      /** A Migrate request: allowed, busy (another execution holds it), or refused (not active). */
      readonly migrate: 'allowed' | 'busy' | 'refused';
      /**
       * What an application resolving it gets (GET /resolve, resolveTenant): `serve` (200, in
       * use), `absent` (404: it does not exist yet for an application), `gone` (410).
       */
      readonly resolve: 'serve' | 'absent' | 'gone';
    }
  >
>;

export type TenantStatus = keyof typeof TENANT_LIFECYCLE;

export const TENANT_STATUSES = Object.keys(TENANT_LIFECYCLE) as [TenantStatus, ...TenantStatus[]];

/**
 * The registry's CHECK on `tenantry.tenants.status`, generated from the lifecycle. The control
 * schema's installer (registry/control-files.ts) applies it like a control function: whenever this
 * text changes, and never over a later release.
 */
export function tenantStatusCheckSql(statuses: readonly string[] = TENANT_STATUSES): string {
  return (
    'ALTER TABLE tenantry.tenants DROP CONSTRAINT IF EXISTS tenants_status_check,\n' +
    `  ADD CONSTRAINT tenants_status_check CHECK (status IN (${statuses.map(quoteLiteral).join(', ')}))`
  );
}

interface TenantState {
  readonly tenantId: string;
  readonly status: TenantStatus;
  readonly executionId: string;
  readonly deletionDueAt?: string | null;
}

/** Why a new Provision request for this tenant cannot start, or undefined when it can. */
export function provisionRefusal(tenant: TenantState): TenantryError | undefined {
  switch (TENANT_LIFECYCLE[tenant.status].provision) {
    case 'allowed':
      return undefined;
    case 'busy':
      return new TenantBusyError(tenant.tenantId, tenant.executionId);
    case 'exists':
      return new TenantExistsError(`tenant '${tenant.tenantId}' already exists (status ${tenant.status})`);
  }
}

/** Why a Deprovision request (now or scheduled) cannot start, or undefined when it can. */
export function deprovisionRefusal(tenant: TenantState): TenantryError | undefined {
  switch (TENANT_LIFECYCLE[tenant.status].deprovision) {
    case 'allowed':
      return undefined;
    case 'busy':
      return new TenantBusyError(tenant.tenantId, tenant.executionId);
    case 'scheduled':
      return new ConflictError(
        `tenant '${tenant.tenantId}' is already scheduled for deletion at ${tenant.deletionDueAt}: cancel that first`,
      );
    case 'refused':
      return new TenantStateError(
        `tenant '${tenant.tenantId}' is ${tenant.status} and cannot be deprovisioned`,
      );
  }
}

/** Why a Migrate request cannot start for the tenant's status, or undefined when it can. */
export function migrateRefusal(tenant: TenantState): TenantryError | undefined {
  switch (TENANT_LIFECYCLE[tenant.status].migrate) {
    case 'allowed':
      return undefined;
    case 'busy':
      return new TenantBusyError(tenant.tenantId, tenant.executionId);
    case 'refused':
      return new TenantStateError(`tenant '${tenant.tenantId}' is ${tenant.status} and cannot be migrated`);
  }
}
