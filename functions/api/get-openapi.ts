import middy from '@middy/core';
import { type HttpEvent, type HttpResult, httpProblems, json } from '../../shared/api/http';
import { openApiDocument } from '../../shared/api/openapi';

// Built once per container: it depends on the code alone.
const document = openApiDocument();

/** GET /openapi.json */
export const handler = middy<HttpEvent, HttpResult>()
  .use(httpProblems('GetOpenApi'))
  .handler(async () => json(200, document));
