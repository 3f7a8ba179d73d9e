import middy from '@middy/core';
import {
  type HttpEvent,
  type HttpResult,
  httpProblems,
  json,
  parseBody,
  tenantIdParam,
} from '../../shared/api/http';
import { deprovisionTenant } from '../../shared/api/routes';
import { apiRuntime, deletionScheduler } from '../../shared/api/runtime';
import { DeprovisionBodySchema } from '../../shared/api/schemas';

/** POST /tenants/{tenantId}/deprovision */
export const handler = middy<HttpEvent, HttpResult>()
  .use(httpProblems('DeprovisionTenant'))
  .handler(async (event) => {
    const tenantId = tenantIdParam(event);
    const body = event.body ? parseBody(event, DeprovisionBodySchema) : DeprovisionBodySchema.parse({});
    const rt = await apiRuntime();
    const result = await deprovisionTenant(rt, deletionScheduler(rt), tenantId, body);
    return json(202, result, result.scheduled ? {} : { location: result.statusUrl });
  });
