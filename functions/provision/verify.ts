import { workflowStep } from '../../shared/lambda/workflow-step';
import { verify } from '../../shared/provision/steps';

/** Verify step of the Provision workflow. */
export const handler = workflowStep('Provision', 'Verify', verify);
