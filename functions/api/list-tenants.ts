import middy from '@middy/core';
import { type HttpEvent, type HttpResult, httpProblems, json, parseQuery } from '../../shared/api/http';
import { listTenants } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';
import { ListTenantsQuerySchema } from '../../shared/api/schemas';

/** GET /tenants */
export const handler = middy<HttpEvent, HttpResult>()
  .use(httpProblems('ListTenants'))
  .handler(async (event) => {
    const query = parseQuery(event, ListTenantsQuerySchema);
    return json(200, await listTenants(await apiRuntime(), query));
  });
