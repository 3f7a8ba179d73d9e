import middy from '@middy/core';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { StepEventSchema } from '../../shared/provision/schemas';
import { createSchema } from '../../shared/provision/steps';
import { runtime } from '../../shared/runtime';
import { parseOrThrow } from '../../shared/validation';

/** CreateSchema step of the Provision workflow. */
export const handler = middy<unknown>()
  .use(stepMiddleware('CreateSchema'))
  .handler(async (event) => createSchema(await runtime(), parseOrThrow(StepEventSchema, event, 'event.')));
