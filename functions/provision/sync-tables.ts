import { workflowStep } from '../../shared/lambda/workflow-step';
import { syncTables } from '../../shared/provision/steps';

/** SyncTables step of the Provision workflow. */
export const handler = workflowStep('Provision', 'SyncTables', syncTables);
