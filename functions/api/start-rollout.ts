import { callerOf } from '../../shared/api/http';
import { startRollout } from '../../shared/api/rollouts';
import { apiRoute } from '../../shared/api/route';
import { apiRuntime } from '../../shared/api/runtime';

/** POST /rollouts */
export const handler = apiRoute('StartRollout', async ({ body, event }) =>
  startRollout(await apiRuntime(), body, callerOf(event)),
);
