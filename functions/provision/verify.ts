import middy from '@middy/core';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { StepEventSchema } from '../../shared/provision/schemas';
import { verify } from '../../shared/provision/steps';
import { runtime } from '../../shared/runtime';
import { parseOrThrow } from '../../shared/validation';

/** Verify step of the Provision workflow. */
export const handler = middy<unknown>()
  .use(stepMiddleware('Verify'))
  .handler(async (event) => verify(await runtime(), parseOrThrow(StepEventSchema, event, 'event.')));
