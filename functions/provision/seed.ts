import middy from '@middy/core';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { StepEventSchema } from '../../shared/provision/schemas';
import { seed } from '../../shared/provision/steps';
import { runtime } from '../../shared/runtime';
import { parseOrThrow } from '../../shared/validation';

/** Seed step of the Provision workflow. */
export const handler = middy<unknown>()
  .use(stepMiddleware('Seed'))
  .handler(async (event) => seed(await runtime(), parseOrThrow(StepEventSchema, event, 'event.')));
