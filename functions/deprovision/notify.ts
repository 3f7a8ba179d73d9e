import middy from '@middy/core';
import { notify } from '../../shared/deprovision/steps';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { StepEventSchema } from '../../shared/provision/schemas';
import { runtime } from '../../shared/runtime';
import { parseOrThrow } from '../../shared/validation';

/** Notify step of the Deprovision workflow. */
export const handler = middy<unknown>()
  .use(stepMiddleware('Deprovision.Notify'))
  .handler(async (event) => notify(await runtime(), parseOrThrow(StepEventSchema, event, 'event.')));
