import { openApiDocument } from '../../shared/api/openapi';
import { apiRoute } from '../../shared/api/route';

// Built once per container: it depends on the code and on which routes this deployment serves
// (TENANTRY_API_ROUTES, set by the construct: a comma-separated list of route ids; all when unset).
const served = process.env.TENANTRY_API_ROUTES;
const document = openApiDocument(served === undefined ? undefined : new Set(served.split(',')));

/** GET /openapi.json */
export const handler = apiRoute('GetOpenApi', async () => document);
