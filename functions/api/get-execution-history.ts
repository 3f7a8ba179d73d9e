import middy from '@middy/core';
import {
  executionRef,
  type HttpEvent,
  type HttpResult,
  httpProblems,
  json,
  parseQuery,
} from '../../shared/api/http';
import { getExecutionHistory } from '../../shared/api/routes';
import { engineRuntime } from '../../shared/api/runtime';
import { PageQuerySchema } from '../../shared/api/schemas';

/** GET /executions/{executionId}/history */
export const handler = middy<HttpEvent, HttpResult>()
  .use(httpProblems('GetExecutionHistory'))
  .handler(async (event) => {
    const ref = executionRef(event);
    const query = parseQuery(event, PageQuerySchema);
    return json(200, await getExecutionHistory(engineRuntime(), ref, query));
  });
