import { workflowStep } from '../../shared/lambda/workflow-step';
import { validate } from '../../shared/migrate/steps';

/** Validate step of the Migrate workflow. */
export const handler = workflowStep('Migrate', 'Validate', validate);
