import { workflowStep } from '../../shared/lambda/workflow-step';
import { createLogin } from '../../shared/provision/login';

/** CreateLogin step of the Provision workflow: the tenant's own login, its password in a secret. */
export const handler = workflowStep('Provision', 'CreateLogin', createLogin);
