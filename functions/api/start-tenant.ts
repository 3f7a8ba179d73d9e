import { apiRoute } from '../../shared/api/route';
import { startTenant } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';

/** POST /tenants */
export const handler = apiRoute('StartTenant', async ({ body }) => startTenant(await apiRuntime(), body));
