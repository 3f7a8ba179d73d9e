import middy from '@middy/core';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { StepEventSchema } from '../../shared/provision/schemas';
import { createIndexes } from '../../shared/provision/steps';
import { runtime } from '../../shared/runtime';
import { parseOrThrow } from '../../shared/validation';

/** CreateIndexes step of the Provision workflow. */
export const handler = middy<unknown>()
  .use(stepMiddleware('CreateIndexes'))
  .handler(async (event) => createIndexes(await runtime(), parseOrThrow(StepEventSchema, event, 'event.')));
