import middy from '@middy/core';
import { disable } from '../../shared/deprovision/steps';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { StepEventSchema } from '../../shared/provision/schemas';
import { runtime } from '../../shared/runtime';
import { parseOrThrow } from '../../shared/validation';

/** Disable step of the Deprovision workflow. */
export const handler = middy<unknown>()
  .use(stepMiddleware('Deprovision.Disable'))
  .handler(async (event) => disable(await runtime(), parseOrThrow(StepEventSchema, event, 'event.')));
