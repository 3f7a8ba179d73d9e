import middy from '@middy/core';
import { dropSchema } from '../../shared/deprovision/steps';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { StepEventSchema } from '../../shared/provision/schemas';
import { runtime } from '../../shared/runtime';
import { parseOrThrow } from '../../shared/validation';

/** DropSchema step of the Deprovision workflow. */
export const handler = middy<unknown>()
  .use(stepMiddleware('Deprovision.DropSchema'))
  .handler(async (event) => dropSchema(await runtime(), parseOrThrow(StepEventSchema, event, 'event.')));
