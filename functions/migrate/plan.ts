import { workflowStep } from '../../shared/lambda/workflow-step';
import { plan } from '../../shared/migrate/steps';

/** Plan step of the Migrate workflow. */
export const handler = workflowStep('Migrate', 'Plan', plan);
