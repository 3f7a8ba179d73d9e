import { apiRoute } from '../../shared/api/route';
import { listAudit } from '../../shared/api/routes';
import { runtime } from '../../shared/runtime';

/** GET /audit */
export const handler = apiRoute('ListAudit', async ({ query }) => listAudit(await runtime(), query));
