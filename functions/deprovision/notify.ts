import { notify } from '../../shared/deprovision/steps';
import { workflowStep } from '../../shared/lambda/workflow-step';

/** Notify step of the Deprovision workflow. */
export const handler = workflowStep('Deprovision', 'Notify', notify);
