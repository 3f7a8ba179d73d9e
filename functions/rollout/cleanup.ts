import { workflowStep } from '../../shared/lambda/workflow-step';
import { cleanup } from '../../shared/rollout/steps';

/** Cleanup step of the Rollout workflow. */
export const handler = workflowStep('Rollout', 'Cleanup', cleanup);
