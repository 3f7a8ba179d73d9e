import { finalize } from '../../shared/deprovision/steps';
import { workflowStep } from '../../shared/lambda/workflow-step';

/** Finalize step of the Deprovision workflow. */
export const handler = workflowStep('Deprovision', 'Finalize', finalize);
