import { dropSchema } from '../../shared/deprovision/steps';
import { workflowStep } from '../../shared/lambda/workflow-step';

/** DropSchema step of the Deprovision workflow. */
export const handler = workflowStep('Deprovision', 'DropSchema', dropSchema);
