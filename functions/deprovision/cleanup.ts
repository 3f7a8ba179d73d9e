import middy from '@middy/core';
import { cleanup } from '../../shared/deprovision/steps';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { StepEventSchema } from '../../shared/provision/schemas';
import { runtime } from '../../shared/runtime';
import { parseOrThrow } from '../../shared/validation';

/** Cleanup step of the Deprovision workflow. */
export const handler = middy<unknown>()
  .use(stepMiddleware('Deprovision.Cleanup'))
  .handler(async (event) => cleanup(await runtime(), parseOrThrow(StepEventSchema, event, 'event.')));
