import middy from '@middy/core';
import { backup } from '../../shared/deprovision/steps';
import { stepMiddleware } from '../../shared/lambda/step-middleware';
import { StepEventSchema } from '../../shared/provision/schemas';
import { runtime } from '../../shared/runtime';
import { parseOrThrow } from '../../shared/validation';

/** Backup step of the Deprovision workflow. */
export const handler = middy<unknown>()
  .use(stepMiddleware('Deprovision.Backup'))
  .handler(async (event, context) =>
    backup(
      await runtime(),
      parseOrThrow(StepEventSchema, event, 'event.'),
      context.getRemainingTimeInMillis(),
    ),
  );
