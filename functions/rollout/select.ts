import { workflowStep } from '../../shared/lambda/workflow-step';
import { select } from '../../shared/rollout/steps';

/** Select step of the Rollout workflow. */
export const handler = workflowStep('Rollout', 'Select', select);
