import { apiRoute } from '../../shared/api/route';
import { getExecution } from '../../shared/api/routes';
import { engineRuntime } from '../../shared/api/runtime';

/** GET /executions/{executionId} */
export const handler = apiRoute('GetExecution', async ({ params }) =>
  getExecution(engineRuntime(), params.executionId),
);
