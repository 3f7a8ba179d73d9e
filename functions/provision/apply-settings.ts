import middy from '@middy/core';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { StepEventSchema } from '../../shared/provision/schemas';
import { applySettings } from '../../shared/provision/steps';
import { runtime } from '../../shared/runtime';
import { parseOrThrow } from '../../shared/validation';

/** ApplySettings step of the Provision workflow (template requests only). */
export const handler = middy<unknown>()
  .use(stepMiddleware('ApplySettings'))
  .handler(async (event) => applySettings(await runtime(), parseOrThrow(StepEventSchema, event, 'event.')));
