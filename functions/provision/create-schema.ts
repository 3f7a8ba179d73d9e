import { workflowStep } from '../../shared/lambda/workflow-step';
import { createSchema } from '../../shared/provision/steps';

/** CreateSchema step of the Provision workflow. */
export const handler = workflowStep('Provision', 'CreateSchema', createSchema);
