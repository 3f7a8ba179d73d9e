import { callerOf } from '../../shared/api/http';
import { apiRoute } from '../../shared/api/route';
import { migrateTenant } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';

/** POST /tenants/{tenantId}/migrate */
export const handler = apiRoute('MigrateTenant', async ({ params, body, event }) =>
  migrateTenant(await apiRuntime(), params.tenantId, body, callerOf(event)),
);
