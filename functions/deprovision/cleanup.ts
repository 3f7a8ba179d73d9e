import { cleanup } from '../../shared/deprovision/steps';
import { workflowStep } from '../../shared/lambda/workflow-step';

/** Cleanup step of the Deprovision workflow. */
export const handler = workflowStep('Deprovision', 'Cleanup', cleanup);
