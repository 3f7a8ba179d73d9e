import { callerOf } from '../../shared/api/http';
import { apiRoute } from '../../shared/api/route';
import { cancelExecution } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';

/** POST /executions/{executionId}/cancel */
export const handler = apiRoute('CancelExecution', async ({ params, event }) =>
  cancelExecution(await apiRuntime(), params.executionId, callerOf(event)),
);
