import { openApiDocument } from '../../shared/api/openapi';
import { apiRoute } from '../../shared/api/route';

// Built once per container: it depends on the code alone.
const document = openApiDocument();

/** GET /openapi.json */
export const handler = apiRoute('GetOpenApi', async () => document);
