import { disable } from '../../shared/deprovision/steps';
import { workflowStep } from '../../shared/lambda/workflow-step';

/** Disable step of the Deprovision workflow. */
export const handler = workflowStep('Deprovision', 'Disable', disable);
