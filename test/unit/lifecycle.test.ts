import { describe, expect, it } from 'vitest';
import { TenantStatusSchema } from '../../shared/api/schemas';
import { loadControlSql } from '../../shared/registry/control-files';
import {
  deprovisionRefusal,
  migrateRefusal,
  provisionRefusal,
  TENANT_LIFECYCLE,
  TENANT_STATUSES,
  type TenantStatus,
  tenantStatusCheckSql,
} from '../../shared/registry/lifecycle';

const tenant = (status: TenantStatus) => ({
  tenantId: 'acme',
  status,
  executionId: 'exec-1',
  deletionDueAt: null,
});

describe('the tenant lifecycle', () => {
  it("is what the registry's CHECK and the API's enum allow, no more and no less", () => {
    const generated = loadControlSql().generated.find((g) => g.name === 'tenants_status_check')?.sql ?? '';
    expect(generated).toBe(tenantStatusCheckSql());
    const listed = (s: string) => [...s.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]).sort();
    expect(listed(generated)).toEqual([...TENANT_STATUSES].sort());
    for (const status of TENANT_STATUSES) expect(TenantStatusSchema.parse(status)).toBe(status);
    expect(TenantStatusSchema.safeParse('archived').success).toBe(false);
  });

  it('answers a new Provision, Deprovision and Migrate request from each status as the control functions do', () => {
    const provision = Object.fromEntries(
      TENANT_STATUSES.map((s) => [s, provisionRefusal(tenant(s))?.name ?? 'start']),
    );
    expect(provision).toEqual({
      provisioning: 'TenantBusyError',
      active: 'TenantExistsError',
      migrating: 'TenantExistsError',
      failed: 'start',
      cancelled: 'start',
      disabled: 'TenantExistsError',
      scheduled_for_deletion: 'TenantExistsError',
      deprovisioning: 'TenantBusyError',
      deprovisioned: 'TenantExistsError',
    });
    const deprovision = Object.fromEntries(
      TENANT_STATUSES.map((s) => [s, deprovisionRefusal(tenant(s))?.name ?? 'start']),
    );
    expect(deprovision).toEqual({
      provisioning: 'TenantBusyError',
      active: 'start',
      migrating: 'TenantBusyError',
      failed: 'TenantStateError',
      cancelled: 'TenantStateError',
      disabled: 'start',
      scheduled_for_deletion: 'ConflictError',
      deprovisioning: 'TenantBusyError',
      deprovisioned: 'TenantStateError',
    });
    const migrate = Object.fromEntries(
      TENANT_STATUSES.map((s) => [s, migrateRefusal(tenant(s))?.name ?? 'start']),
    );
    expect(migrate).toEqual({
      provisioning: 'TenantBusyError',
      active: 'start',
      migrating: 'TenantBusyError',
      failed: 'TenantStateError',
      cancelled: 'TenantStateError',
      disabled: 'TenantStateError',
      scheduled_for_deletion: 'TenantStateError',
      deprovisioning: 'TenantBusyError',
      deprovisioned: 'TenantStateError',
    });
    for (const status of TENANT_STATUSES) expect(TENANT_LIFECYCLE[status].meaning.length).toBeGreaterThan(5);
  });
});
