import { callerOf } from '../../shared/api/http';
import { planRolloutRoute } from '../../shared/api/rollouts';
import { apiRoute } from '../../shared/api/route';
import { runtime } from '../../shared/runtime';

/** POST /rollouts/plan */
export const handler = apiRoute('PlanRollout', async ({ body, event }) =>
  planRolloutRoute(await runtime(), body, callerOf(event)),
);
