import { workflowStep } from '../../shared/lambda/workflow-step';
import { cleanup } from '../../shared/provision/steps';

/** Cleanup step of the Provision workflow. */
export const handler = workflowStep('Provision', 'Cleanup', (rt, event) => cleanup(rt, event));
