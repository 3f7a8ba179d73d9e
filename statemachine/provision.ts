import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import {
  PROVISION_CLEANUP,
  PROVISION_FAILED_STATE,
  PROVISION_STEPS,
  PROVISION_SUCCEEDED_STATE,
  PROVISION_TEMPLATE_CHOICE,
  type TaskStep,
} from './steps';
import { failurePath, functionFor, lambdaTask, type WorkflowFunctions } from './tasks';

/** @default 30 minutes: a run that has not finished by then has hung somewhere. */
export const PROVISION_TIMEOUT = Duration.minutes(30);

/**
 * Validate -> CreateSchema -> SyncTables -> CreateIndexes -> Seed -> [UsesTemplate: ApplySettings ->
 * CreateAdminUser -> LoadInitialData] -> Verify -> Register.
 * Every step retries transient faults with backoff and jitter; any other failure is caught with
 * the error under `$.failure.<StepName>`, so Cleanup knows which step failed, and the run ends in
 * the ProvisioningFailed state after Cleanup.
 */
export function buildProvisionDefinition(scope: Construct, functions: WorkflowFunctions): sfn.IChainable {
  const { guard } = failurePath(scope, functions, {
    cleanup: PROVISION_CLEANUP,
    failedState: PROVISION_FAILED_STATE,
    comment: 'Provisioning failed; Cleanup has run',
  });
  const steps: readonly TaskStep[] = PROVISION_STEPS;
  const tasks = steps.map((step) => ({
    step,
    task: guard(lambdaTask(scope, step, functionFor(functions, step)), step),
  }));

  const succeeded = new sfn.Succeed(scope, PROVISION_SUCCEEDED_STATE, {
    stateName: PROVISION_SUCCEEDED_STATE,
    comment: 'Tenant is active',
  });

  // Steps in order; the template-only ones form a branch taken when Validate planned a template.
  const always = tasks.filter((t) => !t.step.templateOnly).map((t) => t.task);
  const templated = tasks.filter((t) => t.step.templateOnly).map((t) => t.task);
  const firstAfterTemplate = steps.findIndex(
    (s, i) => i > 0 && !s.templateOnly && steps[i - 1]?.templateOnly,
  );
  const [first, ...rest] = always;
  const [firstTemplated] = templated;
  const resumeAt = tasks[firstAfterTemplate]?.task;
  if (!first || !firstTemplated || !resumeAt) throw new Error('the Provision workflow lost its steps');

  let chain: sfn.Chain = sfn.Chain.start(first);
  for (const task of rest) {
    if (task === resumeAt) {
      let branch: sfn.Chain = sfn.Chain.start(firstTemplated);
      for (const t of templated.slice(1)) branch = branch.next(t);
      const choice = new sfn.Choice(scope, PROVISION_TEMPLATE_CHOICE, {
        stateName: PROVISION_TEMPLATE_CHOICE,
        comment: 'Requests with a template get its settings, admin user and initial data',
      })
        .when(sfn.Condition.isPresent('$.steps.Validate.output.template'), branch.next(task))
        .otherwise(task);
      chain = chain.next(choice);
      // Both branches meet at `task`; carry on from it.
      chain = sfn.Chain.sequence(chain, task) as sfn.Chain;
      continue;
    }
    chain = chain.next(task);
  }
  return chain.next(succeeded);
}
