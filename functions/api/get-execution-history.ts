import { apiRoute } from '../../shared/api/route';
import { getExecutionHistory } from '../../shared/api/routes';
import { engineRuntime } from '../../shared/api/runtime';

/** GET /executions/{executionId}/history */
export const handler = apiRoute('GetExecutionHistory', async ({ params, query }) =>
  getExecutionHistory(engineRuntime(), params.executionId, query),
);
