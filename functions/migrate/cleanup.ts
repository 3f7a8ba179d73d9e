import { workflowStep } from '../../shared/lambda/workflow-step';
import { cleanup } from '../../shared/migrate/steps';

/** Cleanup step of the Migrate workflow. */
export const handler = workflowStep('Migrate', 'Cleanup', cleanup);
