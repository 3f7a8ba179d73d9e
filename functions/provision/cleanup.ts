import middy from '@middy/core';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { StepEventSchema } from '../../shared/provision/schemas';
import { cleanup } from '../../shared/provision/steps';
import { runtime } from '../../shared/runtime';
import { parseOrThrow } from '../../shared/validation';

/** Cleanup step of the Provision workflow. */
export const handler = middy<unknown>()
  .use(stepMiddleware('Cleanup'))
  .handler(async (event) => cleanup(await runtime(), parseOrThrow(StepEventSchema, event, 'event.')));
