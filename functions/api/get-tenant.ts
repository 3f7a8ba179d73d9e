import { apiRoute } from '../../shared/api/route';
import { getTenant } from '../../shared/api/routes';
import { runtime } from '../../shared/runtime';

/** GET /tenants/{tenantId} */
export const handler = apiRoute('GetTenant', async ({ params }) =>
  getTenant(await runtime(), params.tenantId),
);
