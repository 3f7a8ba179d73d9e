import { apiRoute } from '../../shared/api/route';
import { getStats } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';

/** GET /stats */
export const handler = apiRoute('GetStats', async () => getStats(await apiRuntime()));
