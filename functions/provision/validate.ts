import { workflowStep } from '../../shared/lambda/workflow-step';
import { validate } from '../../shared/provision/steps';

/** Validate step of the Provision workflow. */
export const handler = workflowStep('Provision', 'Validate', validate);
