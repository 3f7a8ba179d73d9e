import { workflowStep } from '../../shared/lambda/workflow-step';
import { createIndexes } from '../../shared/provision/steps';

/** CreateIndexes step of the Provision workflow. */
export const handler = workflowStep('Provision', 'CreateIndexes', createIndexes);
