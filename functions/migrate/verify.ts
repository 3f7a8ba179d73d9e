import { workflowStep } from '../../shared/lambda/workflow-step';
import { verify } from '../../shared/migrate/steps';

/** Verify step of the Migrate workflow. */
export const handler = workflowStep('Migrate', 'Verify', verify);
