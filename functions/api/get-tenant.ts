import { apiRoute } from '../../shared/api/route';
import { getTenant } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';

/** GET /tenants/{tenantId} */
export const handler = apiRoute('GetTenant', async ({ params }) =>
  getTenant(await apiRuntime(), params.tenantId),
);
