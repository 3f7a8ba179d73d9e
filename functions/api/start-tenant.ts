import { callerOf } from '../../shared/api/http';
import { apiRoute } from '../../shared/api/route';
import { startTenant } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';

/** POST /tenants */
export const handler = apiRoute('StartTenant', async ({ body, event }) =>
  startTenant(await apiRuntime(), body, callerOf(event)),
);
