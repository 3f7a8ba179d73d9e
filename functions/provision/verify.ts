import middy from '@middy/core';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { StepEventSchema } from '../../shared/provision/schemas';
import { parseOrThrow, verify } from '../../shared/provision/steps';
import { runtime } from '../../shared/runtime';

/** Verify step of the Provision workflow. */
export const handler = middy<unknown>()
  .use(stepMiddleware('Verify'))
  .handler(async (event) => verify(await runtime(), parseOrThrow(StepEventSchema, event, 'event.')));
