import { apiRoute } from '../../shared/api/route';
import { getStats } from '../../shared/api/routes';
import { runtime } from '../../shared/runtime';

/** GET /stats */
export const handler = apiRoute('GetStats', async () => getStats(await runtime()));
