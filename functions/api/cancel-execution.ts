import middy from '@middy/core';
import {
  callerOf,
  executionRef,
  type HttpEvent,
  type HttpResult,
  httpProblems,
  json,
} from '../../shared/api/http';
import { cancelExecution } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';

/** POST /executions/{executionId}/cancel */
export const handler = middy<HttpEvent, HttpResult>()
  .use(httpProblems('CancelExecution'))
  .handler(async (event) => {
    const ref = executionRef(event);
    return json(200, await cancelExecution(await apiRuntime(), ref, callerOf(event)));
  });
