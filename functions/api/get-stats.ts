import middy from '@middy/core';
import { type HttpEvent, type HttpResult, httpProblems, json } from '../../shared/api/http';
import { getStats } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';

/** GET /stats */
export const handler = middy<HttpEvent, HttpResult>()
  .use(httpProblems('GetStats'))
  .handler(async () => json(200, await getStats(await apiRuntime())));
