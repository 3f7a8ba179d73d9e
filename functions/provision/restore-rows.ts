import { workflowStep } from '../../shared/lambda/workflow-step';
import { restoreRows } from '../../shared/provision/restore';

/** RestoreRows step of the Provision workflow (restores only). */
export const handler = workflowStep('Provision', 'RestoreRows', restoreRows);
