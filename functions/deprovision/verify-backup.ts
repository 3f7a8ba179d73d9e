import middy from '@middy/core';
import { verifyBackup } from '../../shared/deprovision/steps';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { StepEventSchema } from '../../shared/provision/schemas';
import { runtime } from '../../shared/runtime';
import { parseOrThrow } from '../../shared/validation';

/** VerifyBackup step of the Deprovision workflow. */
export const handler = middy<unknown>()
  .use(stepMiddleware('Deprovision.VerifyBackup'))
  .handler(async (event) => verifyBackup(await runtime(), parseOrThrow(StepEventSchema, event, 'event.')));
