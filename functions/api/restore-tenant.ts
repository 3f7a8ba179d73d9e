import middy from '@middy/core';
import {
  callerOf,
  type HttpEvent,
  type HttpResult,
  httpProblems,
  json,
  tenantIdParam,
} from '../../shared/api/http';
import { restoreTenant } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';

/** POST /tenants/{tenantId}/restore */
export const handler = middy<HttpEvent, HttpResult>()
  .use(httpProblems('RestoreTenant'))
  .handler(async (event) => {
    const result = await restoreTenant(await apiRuntime(), tenantIdParam(event), callerOf(event));
    return json(202, result, { location: result.statusUrl });
  });
