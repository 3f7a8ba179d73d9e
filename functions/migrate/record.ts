import { workflowStep } from '../../shared/lambda/workflow-step';
import { record } from '../../shared/migrate/steps';

/** Record step of the Migrate workflow. */
export const handler = workflowStep('Migrate', 'Record', record);
