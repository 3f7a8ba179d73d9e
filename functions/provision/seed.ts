import { workflowStep } from '../../shared/lambda/workflow-step';
import { seed } from '../../shared/provision/steps';

/** Seed step of the Provision workflow. */
export const handler = workflowStep('Provision', 'Seed', seed);
