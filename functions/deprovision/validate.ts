import { validate } from '../../shared/deprovision/steps';
import { workflowStep } from '../../shared/lambda/workflow-step';

/** Validate step of the Deprovision workflow. */
export const handler = workflowStep('Deprovision', 'Validate', validate);
