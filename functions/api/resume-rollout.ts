import { callerOf } from '../../shared/api/http';
import { resumeRollout } from '../../shared/api/rollouts';
import { apiRoute } from '../../shared/api/route';
import { apiRuntime } from '../../shared/api/runtime';

/** POST /rollouts/{rolloutId}/resume */
export const handler = apiRoute('ResumeRollout', async ({ params, event }) =>
  resumeRollout(await apiRuntime(), params.rolloutId, callerOf(event)),
);
