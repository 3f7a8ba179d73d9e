import { callerOf } from '../../shared/api/http';
import { requestRollout } from '../../shared/api/rollouts';
import { apiRoute } from '../../shared/api/route';
import { runtime } from '../../shared/runtime';

/** POST /rollouts/{rolloutId}/pause */
export const handler = apiRoute('PauseRollout', async ({ params, event }) =>
  requestRollout(await runtime(), params.rolloutId, 'pause', callerOf(event)),
);
