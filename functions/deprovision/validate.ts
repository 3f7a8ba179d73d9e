import middy from '@middy/core';
import { validate } from '../../shared/deprovision/steps';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { StepEventSchema } from '../../shared/provision/schemas';
import { runtime } from '../../shared/runtime';
import { parseOrThrow } from '../../shared/validation';

/** Validate step of the Deprovision workflow. */
export const handler = middy<unknown>()
  .use(stepMiddleware('Deprovision.Validate'))
  .handler(async (event) => validate(await runtime(), parseOrThrow(StepEventSchema, event, 'event.')));
