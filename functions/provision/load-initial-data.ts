import { workflowStep } from '../../shared/lambda/workflow-step';
import { loadInitialData } from '../../shared/provision/steps';

/** LoadInitialData step of the Provision workflow (template requests only). */
export const handler = workflowStep('Provision', 'LoadInitialData', loadInitialData);
