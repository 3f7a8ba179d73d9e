import middy from '@middy/core';
import {
  type HttpEvent,
  type HttpResult,
  httpProblems,
  json,
  parseQuery,
  tenantIdParam,
} from '../../shared/api/http';
import { listTenantExecutions } from '../../shared/api/routes';
import { engineRuntime } from '../../shared/api/runtime';
import { PageQuerySchema } from '../../shared/api/schemas';

/** GET /tenants/{tenantId}/executions */
export const handler = middy<HttpEvent, HttpResult>()
  .use(httpProblems('ListTenantExecutions'))
  .handler(async (event) => {
    const tenantId = tenantIdParam(event);
    const query = parseQuery(event, PageQuerySchema);
    return json(200, await listTenantExecutions(engineRuntime(), tenantId, query));
  });
