import { workflowStep } from '../../shared/lambda/workflow-step';
import { applyMigrations } from '../../shared/migrate/steps';

/** ApplyMigrations step of the Migrate workflow. */
export const handler = workflowStep('Migrate', 'ApplyMigrations', applyMigrations);
