import { getRolloutRoute } from '../../shared/api/rollouts';
import { apiRoute } from '../../shared/api/route';
import { runtime } from '../../shared/runtime';

/** GET /rollouts/{rolloutId} */
export const handler = apiRoute('GetRollout', async ({ params, query }) =>
  getRolloutRoute(await runtime(), params.rolloutId, query),
);
