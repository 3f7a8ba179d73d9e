import middy from '@middy/core';
import { type HttpEvent, type HttpResult, httpProblems, json, parseBody } from '../../shared/api/http';
import { startTenant } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';
import { StartTenantSchema } from '../../shared/api/schemas';

/** POST /tenants */
export const handler = middy<HttpEvent, HttpResult>()
  .use(httpProblems('StartTenant'))
  .handler(async (event) => {
    const request = parseBody(event, StartTenantSchema);
    const started = await startTenant(await apiRuntime(), request);
    return json(202, started, { location: started.statusUrl });
  });
