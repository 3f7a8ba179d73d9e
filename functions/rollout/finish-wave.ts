import { workflowStep } from '../../shared/lambda/workflow-step';
import { finishWave } from '../../shared/rollout/steps';

/** FinishWave step of the Rollout workflow. */
export const handler = workflowStep('Rollout', 'FinishWave', finishWave);
