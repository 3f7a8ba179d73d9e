import { callerOf } from '../../shared/api/http';
import { apiRoute } from '../../shared/api/route';
import { restoreTenant } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';

/** POST /tenants/{tenantId}/restore */
export const handler = apiRoute('RestoreTenant', async ({ params, event }) =>
  restoreTenant(await apiRuntime(), params.tenantId, callerOf(event)),
);
