import { apiRoute } from '../../shared/api/route';
import { listTenants } from '../../shared/api/routes';
import { runtime } from '../../shared/runtime';

/** GET /tenants */
export const handler = apiRoute('ListTenants', async ({ query }) => listTenants(await runtime(), query));
