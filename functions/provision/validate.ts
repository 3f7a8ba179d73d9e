import middy from '@middy/core';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { StepEventSchema } from '../../shared/provision/schemas';
import { validate } from '../../shared/provision/steps';
import { runtime } from '../../shared/runtime';
import { parseOrThrow } from '../../shared/validation';

/** Validate step of the Provision workflow. */
export const handler = middy<unknown>()
  .use(stepMiddleware('Validate'))
  .handler(async (event) => validate(await runtime(), parseOrThrow(StepEventSchema, event, 'event.')));
