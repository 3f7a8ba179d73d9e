import middy from '@middy/core';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { StepEventSchema } from '../../shared/provision/schemas';
import { createAdminUser } from '../../shared/provision/steps';
import { runtime } from '../../shared/runtime';
import { parseOrThrow } from '../../shared/validation';

/** CreateAdminUser step of the Provision workflow (template requests only). */
export const handler = middy<unknown>()
  .use(stepMiddleware('CreateAdminUser'))
  .handler(async (event) => createAdminUser(await runtime(), parseOrThrow(StepEventSchema, event, 'event.')));
