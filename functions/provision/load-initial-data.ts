import middy from '@middy/core';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { StepEventSchema } from '../../shared/provision/schemas';
import { loadInitialData } from '../../shared/provision/steps';
import { runtime } from '../../shared/runtime';
import { parseOrThrow } from '../../shared/validation';

/** LoadInitialData step of the Provision workflow (template requests only). */
export const handler = middy<unknown>()
  .use(stepMiddleware('LoadInitialData'))
  .handler(async (event) => loadInitialData(await runtime(), parseOrThrow(StepEventSchema, event, 'event.')));
