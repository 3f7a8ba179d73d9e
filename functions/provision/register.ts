import middy from '@middy/core';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { StepEventSchema } from '../../shared/provision/schemas';
import { register } from '../../shared/provision/steps';
import { runtime } from '../../shared/runtime';
import { parseOrThrow } from '../../shared/validation';

/** Register step of the Provision workflow. */
export const handler = middy<unknown>()
  .use(stepMiddleware('Register'))
  .handler(async (event) => register(await runtime(), parseOrThrow(StepEventSchema, event, 'event.')));
