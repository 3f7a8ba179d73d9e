import { workflowStep } from '../../shared/lambda/workflow-step';
import { register } from '../../shared/provision/steps';

/** Register step of the Provision workflow. */
export const handler = workflowStep('Provision', 'Register', register);
