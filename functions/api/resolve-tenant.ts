import { apiRoute } from '../../shared/api/route';
import { resolve } from '../../shared/api/routes';
import { runtime } from '../../shared/runtime';

/** GET /resolve?host=|id= */
export const handler = apiRoute('ResolveTenant', async ({ query }) => resolve(await runtime(), query));
