import middy from '@middy/core';
import { executionRef, type HttpEvent, type HttpResult, httpProblems, json } from '../../shared/api/http';
import { redriveExecution } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';

/** POST /executions/{executionId}/redrive */
export const handler = middy<HttpEvent, HttpResult>()
  .use(httpProblems('RedriveExecution'))
  .handler(async (event) => {
    const ref = executionRef(event);
    const started = await redriveExecution(await apiRuntime(), ref);
    return json(202, started, { location: started.statusUrl });
  });
