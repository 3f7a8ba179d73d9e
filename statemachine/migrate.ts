import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { MIGRATE_CLEANUP, MIGRATE_FAILED_STATE, MIGRATE_STEPS, MIGRATE_SUCCEEDED_STATE } from './steps';
import { failurePath, functionFor, lambdaTask, type WorkflowFunctions } from './tasks';

/**
 * Validate -> Plan -> ApplyMigrations -> Verify -> Record. Retries and catches as in Provision:
 * transient faults (a lock timeout among them) are retried with backoff; anything else goes to
 * Cleanup, which makes the tenant active again on its committed version and records the failure.
 */
export function buildMigrateDefinition(scope: Construct, functions: WorkflowFunctions): sfn.IChainable {
  const { guard } = failurePath(scope, functions, {
    cleanup: MIGRATE_CLEANUP,
    failedState: MIGRATE_FAILED_STATE,
    comment: 'Migration failed; Cleanup has run',
  });
  const [first, ...rest] = MIGRATE_STEPS.map((step) =>
    guard(lambdaTask(scope, step, functionFor(functions, step)), step),
  );
  if (!first) throw new Error('the Migrate workflow has no steps');
  return rest
    .reduce<sfn.Chain>((chain, task) => chain.next(task), sfn.Chain.start(first))
    .next(
      new sfn.Succeed(scope, MIGRATE_SUCCEEDED_STATE, {
        stateName: MIGRATE_SUCCEEDED_STATE,
        comment: 'Tenant is active at its new blueprint version',
      }),
    );
}
