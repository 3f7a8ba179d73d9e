import { apiRoute } from '../../shared/api/route';
import { listTenantExecutions } from '../../shared/api/routes';
import { engineRuntime } from '../../shared/api/runtime';

/** GET /tenants/{tenantId}/executions */
export const handler = apiRoute('ListTenantExecutions', async ({ params, query }) =>
  listTenantExecutions(engineRuntime(), params.tenantId, query),
);
