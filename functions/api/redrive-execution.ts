import { apiRoute } from '../../shared/api/route';
import { redriveExecution } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';

/** POST /executions/{executionId}/redrive */
export const handler = apiRoute('RedriveExecution', async ({ params }) =>
  redriveExecution(await apiRuntime(), params.executionId),
);
