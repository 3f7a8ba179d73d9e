import { apiRoute } from '../../shared/api/route';
import { deprovisionTenant } from '../../shared/api/routes';
import { apiRuntime, deletionScheduler } from '../../shared/api/runtime';

/** POST /tenants/{tenantId}/deprovision */
export const handler = apiRoute('DeprovisionTenant', async ({ params, body }) => {
  const rt = await apiRuntime();
  return deprovisionTenant(rt, deletionScheduler(rt), params.tenantId, body);
});
