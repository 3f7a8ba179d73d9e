import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import {
  DEPROVISION_BACKUP_CHOICE,
  DEPROVISION_CLEANUP,
  DEPROVISION_FAILED_STATE,
  DEPROVISION_STEPS,
  DEPROVISION_SUCCEEDED_STATE,
  type TaskStep,
} from './steps';
import { failurePath, functionFor, lambdaTask, type WorkflowFunctions } from './tasks';

/**
 * Validate -> Disable -> Backup (again until it says done) -> VerifyBackup -> Notify -> DropSchema
 * -> Finalize. Retries and catches as in Provision. Nothing is dropped before the backup is
 * verified; a failure before DropSchema re-enables the tenant (Cleanup), one after it leaves the
 * tenant clearly marked. A backup too long for one invocation returns `done: false` with its
 * cursor, and the Choice after it invokes Backup again.
 */
export function buildDeprovisionDefinition(scope: Construct, functions: WorkflowFunctions): sfn.IChainable {
  const { guard } = failurePath(scope, functions, {
    cleanup: DEPROVISION_CLEANUP,
    failedState: DEPROVISION_FAILED_STATE,
    comment: 'Deprovisioning failed; Cleanup has run',
  });
  const steps: readonly TaskStep[] = DEPROVISION_STEPS;
  const tasks = steps.map((step) => guard(lambdaTask(scope, step, functionFor(functions, step)), step));
  const backupAt = steps.findIndex((s) => s.state === 'Backup');
  const backup = tasks[backupAt];
  if (!backup) throw new Error('the Deprovision workflow has no Backup step');
  const chainOf = (list: readonly sfn.IChainable[]): sfn.Chain => {
    const [head, ...tail] = list;
    if (!head) throw new Error('empty chain');
    let chain = sfn.Chain.start(head);
    for (const t of tail) chain = chain.next(t);
    return chain;
  };
  const finished = new sfn.Choice(scope, DEPROVISION_BACKUP_CHOICE, {
    stateName: DEPROVISION_BACKUP_CHOICE,
    comment: 'A backup too long for one invocation goes on in the next',
  });
  const after = chainOf(tasks.slice(backupAt + 1)).next(
    new sfn.Succeed(scope, DEPROVISION_SUCCEEDED_STATE, {
      stateName: DEPROVISION_SUCCEEDED_STATE,
      comment: 'Tenant schema dropped; backup and audit trail kept',
    }),
  );
  finished.when(sfn.Condition.booleanEquals('$.steps.Backup.output.done', false), backup).otherwise(after);
  return chainOf(tasks.slice(0, backupAt + 1)).next(finished);
}
