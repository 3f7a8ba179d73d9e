import { verifyBackup } from '../../shared/deprovision/steps';
import { workflowStep } from '../../shared/lambda/workflow-step';

/** VerifyBackup step of the Deprovision workflow. */
export const handler = workflowStep('Deprovision', 'VerifyBackup', verifyBackup);
