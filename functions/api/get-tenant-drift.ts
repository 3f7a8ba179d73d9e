import { apiRoute } from '../../shared/api/route';
import { getTenantDrift } from '../../shared/api/routes';
import { runtime } from '../../shared/runtime';

/** GET /tenants/{tenantId}/drift */
export const handler = apiRoute('GetTenantDrift', async ({ params }) =>
  getTenantDrift(await runtime(), params.tenantId),
);
