import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import {
  DEPROVISION_CLEANUP,
  DEPROVISION_FAILED_STATE,
  DEPROVISION_STEPS,
  DEPROVISION_SUCCEEDED_STATE,
  type TaskStep,
} from './steps';
import { failurePath, functionFor, lambdaTask, type WorkflowFunctions } from './tasks';

/** A backup of a large tenant takes a while; a run still going after this has hung. */
export const DEPROVISION_TIMEOUT = Duration.hours(2);

/**
 * Validate -> Disable -> Backup -> VerifyBackup -> Notify -> DropSchema -> Finalize.
 * Retries and catches as in Provision. Nothing is dropped before the backup is verified; a failure
 * before DropSchema re-enables the tenant (Cleanup), one after it leaves the tenant clearly marked.
 */
export function buildDeprovisionDefinition(scope: Construct, functions: WorkflowFunctions): sfn.IChainable {
  const { guard } = failurePath(scope, functions, {
    cleanup: DEPROVISION_CLEANUP,
    failedState: DEPROVISION_FAILED_STATE,
    comment: 'Deprovisioning failed; Cleanup has run',
  });
  const steps: readonly TaskStep[] = DEPROVISION_STEPS;
  const [first, ...rest] = steps.map((step) =>
    guard(lambdaTask(scope, step, functionFor(functions, step)), step),
  );
  if (!first) throw new Error('the Deprovision workflow has no steps');
  let chain: sfn.Chain = sfn.Chain.start(first);
  for (const task of rest) chain = chain.next(task);
  return chain.next(
    new sfn.Succeed(scope, DEPROVISION_SUCCEEDED_STATE, {
      stateName: DEPROVISION_SUCCEEDED_STATE,
      comment: 'Tenant schema dropped; backup and audit trail kept',
    }),
  );
}
