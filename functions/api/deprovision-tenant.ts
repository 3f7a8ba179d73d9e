import { callerOf } from '../../shared/api/http';
import { apiRoute } from '../../shared/api/route';
import { deprovisionTenant } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';
import { deletionScheduler } from '../../shared/api/scheduler';

/** POST /tenants/{tenantId}/deprovision */
export const handler = apiRoute('DeprovisionTenant', async ({ params, body, event }) => {
  const rt = await apiRuntime();
  return deprovisionTenant(rt, deletionScheduler(rt), params.tenantId, body, callerOf(event));
});
