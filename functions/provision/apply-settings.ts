import { workflowStep } from '../../shared/lambda/workflow-step';
import { applySettings } from '../../shared/provision/steps';

/** ApplySettings step of the Provision workflow (template requests only). */
export const handler = workflowStep('Provision', 'ApplySettings', applySettings);
