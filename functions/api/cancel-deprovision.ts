import { callerOf } from '../../shared/api/http';
import { apiRoute } from '../../shared/api/route';
import { cancelDeprovision } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';
import { deletionScheduler } from '../../shared/api/scheduler';

/** DELETE /tenants/{tenantId}/deprovision */
export const handler = apiRoute('CancelDeprovision', async ({ params, event }) => {
  const rt = await apiRuntime();
  return cancelDeprovision(rt, deletionScheduler(rt), params.tenantId, callerOf(event));
});
