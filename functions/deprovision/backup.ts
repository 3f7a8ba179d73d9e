import { backup } from '../../shared/deprovision/steps';
import { workflowStep } from '../../shared/lambda/workflow-step';

/** Backup step of the Deprovision workflow. */
export const handler = workflowStep('Deprovision', 'Backup', (rt, event, context) =>
  backup(rt, event, context.getRemainingTimeInMillis()),
);
