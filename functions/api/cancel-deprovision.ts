import middy from '@middy/core';
import {
  callerOf,
  type HttpEvent,
  type HttpResult,
  httpProblems,
  json,
  tenantIdParam,
} from '../../shared/api/http';
import { cancelDeprovision } from '../../shared/api/routes';
import { apiRuntime, deletionScheduler } from '../../shared/api/runtime';

/** DELETE /tenants/{tenantId}/deprovision */
export const handler = middy<HttpEvent, HttpResult>()
  .use(httpProblems('CancelDeprovision'))
  .handler(async (event) => {
    const tenantId = tenantIdParam(event);
    const rt = await apiRuntime();
    return json(200, await cancelDeprovision(rt, deletionScheduler(rt), tenantId, callerOf(event)));
  });
