import middy from '@middy/core';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { restoreRows } from '../../shared/provision/restore';
import { StepEventSchema } from '../../shared/provision/schemas';
import { runtime } from '../../shared/runtime';
import { parseOrThrow } from '../../shared/validation';

/** RestoreRows step of the Provision workflow (restores only). */
export const handler = middy<unknown>()
  .use(stepMiddleware('RestoreRows'))
  .handler(async (event) => restoreRows(await runtime(), parseOrThrow(StepEventSchema, event, 'event.')));
