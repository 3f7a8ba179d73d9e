import { listRolloutsRoute } from '../../shared/api/rollouts';
import { apiRoute } from '../../shared/api/route';
import { runtime } from '../../shared/runtime';

/** GET /rollouts */
export const handler = apiRoute('ListRollouts', async ({ query }) =>
  listRolloutsRoute(await runtime(), query),
);
