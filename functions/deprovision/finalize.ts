import middy from '@middy/core';
import { finalize } from '../../shared/deprovision/steps';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { StepEventSchema } from '../../shared/provision/schemas';
import { runtime } from '../../shared/runtime';
import { parseOrThrow } from '../../shared/validation';

/** Finalize step of the Deprovision workflow. */
export const handler = middy<unknown>()
  .use(stepMiddleware('Deprovision.Finalize'))
  .handler(async (event) => finalize(await runtime(), parseOrThrow(StepEventSchema, event, 'event.')));
