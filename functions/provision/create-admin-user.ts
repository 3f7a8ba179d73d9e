import { workflowStep } from '../../shared/lambda/workflow-step';
import { createAdminUser } from '../../shared/provision/steps';

/** CreateAdminUser step of the Provision workflow (template requests only). */
export const handler = workflowStep('Provision', 'CreateAdminUser', createAdminUser);
