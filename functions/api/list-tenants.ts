import { apiRoute } from '../../shared/api/route';
import { listTenants } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';

/** GET /tenants */
export const handler = apiRoute('ListTenants', async ({ query }) => listTenants(await apiRuntime(), query));
