import { callerOf } from '../../shared/api/http';
import { requestRollout } from '../../shared/api/rollouts';
import { apiRoute } from '../../shared/api/route';
import { runtime } from '../../shared/runtime';

/** POST /rollouts/{rolloutId}/cancel */
export const handler = apiRoute('CancelRollout', async ({ params, event }) =>
  requestRollout(await runtime(), params.rolloutId, 'cancel', callerOf(event)),
);
