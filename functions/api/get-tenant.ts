import middy from '@middy/core';
import { type HttpEvent, type HttpResult, httpProblems, json, tenantIdParam } from '../../shared/api/http';
import { getTenant } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';

/** GET /tenants/{tenantId} */
export const handler = middy<HttpEvent, HttpResult>()
  .use(httpProblems('GetTenant'))
  .handler(async (event) => {
    const tenantId = tenantIdParam(event);
    return json(200, await getTenant(await apiRuntime(), tenantId));
  });
