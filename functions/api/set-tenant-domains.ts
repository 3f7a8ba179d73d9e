import { callerOf } from '../../shared/api/http';
import { apiRoute } from '../../shared/api/route';
import { setTenantDomains } from '../../shared/api/routes';
import { runtime } from '../../shared/runtime';

/** PUT /tenants/{tenantId}/domains */
export const handler = apiRoute('SetTenantDomains', async ({ params, body, event }) =>
  setTenantDomains(await runtime(), params.tenantId, body.domains, callerOf(event)),
);
