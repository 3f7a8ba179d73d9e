import middy from '@middy/core';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { StepEventSchema } from '../../shared/provision/schemas';
import { syncTables } from '../../shared/provision/steps';
import { runtime } from '../../shared/runtime';
import { parseOrThrow } from '../../shared/validation';

/** SyncTables step of the Provision workflow. */
export const handler = middy<unknown>()
  .use(stepMiddleware('SyncTables'))
  .handler(async (event) => syncTables(await runtime(), parseOrThrow(StepEventSchema, event, 'event.')));
