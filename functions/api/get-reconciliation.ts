import { apiRoute } from '../../shared/api/route';
import { getReconciliation } from '../../shared/api/routes';
import { runtime } from '../../shared/runtime';

/** GET /reconciliation */
export const handler = apiRoute('GetReconciliation', async () => getReconciliation(await runtime()));
