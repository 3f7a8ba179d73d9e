import { apiRoute } from '../../shared/api/route';
import { listAudit } from '../../shared/api/routes';
import { runtime } from '../../shared/runtime';

/** GET /tenants/{tenantId}/audit */
export const handler = apiRoute('ListTenantAudit', async ({ params, query }) =>
  listAudit(await runtime(), query, params.tenantId),
);
