import { apiRoute } from '../../shared/api/route';
import { getTenantDrift } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';

/** GET /tenants/{tenantId}/drift */
export const handler = apiRoute('GetTenantDrift', async ({ params }) =>
  getTenantDrift(await apiRuntime(), params.tenantId),
);
