import { workflowStep } from '../../shared/lambda/workflow-step';
import { nextWave } from '../../shared/rollout/steps';

/** NextWave step of the Rollout workflow. */
export const handler = workflowStep('Rollout', 'NextWave', nextWave);
