import { callerOf } from '../../shared/api/http';
import { apiRoute } from '../../shared/api/route';
import { setTenantLabels } from '../../shared/api/routes';
import { runtime } from '../../shared/runtime';

/** PUT /tenants/{tenantId}/labels */
export const handler = apiRoute('SetTenantLabels', async ({ params, body, event }) =>
  setTenantLabels(await runtime(), params.tenantId, body.labels, callerOf(event)),
);
