import middy from '@middy/core';
import { executionRef, type HttpEvent, type HttpResult, httpProblems, json } from '../../shared/api/http';
import { getExecution } from '../../shared/api/routes';
import { engineRuntime } from '../../shared/api/runtime';

/** GET /executions/{executionId} */
export const handler = middy<HttpEvent, HttpResult>()
  .use(httpProblems('GetExecution'))
  .handler(async (event) => {
    const ref = executionRef(event);
    return json(200, await getExecution(engineRuntime(), ref));
  });
