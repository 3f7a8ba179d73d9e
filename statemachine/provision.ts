import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { TRANSIENT_RETRY } from './retry';
import {
  DEFAULT_TASK_TIMEOUT_SECONDS,
  PROVISION_CLEANUP,
  PROVISION_FAILED_STATE,
  PROVISION_STEPS,
  PROVISION_SUCCEEDED_STATE,
  PROVISION_TEMPLATE_CHOICE,
  type TaskStep,
} from './steps';

/** One function per task state, keyed by state name. */
export type ProvisionFunctions = Readonly<Record<string, lambda.IFunction>>;

/** @default 30 minutes: a run that has not finished by then has hung somewhere. */
export const PROVISION_TIMEOUT = Duration.minutes(30);

/**
 * The payload every step receives: the execution's state document as it is so far, and the
 * execution's identity (the id keys the tenant's lock, the start time feeds timings).
 */
function stepPayload(): sfn.TaskInput {
  return sfn.TaskInput.fromObject({
    state: sfn.JsonPath.entirePayload,
    execution: {
      id: sfn.JsonPath.executionId,
      name: sfn.JsonPath.executionName,
      startTime: sfn.JsonPath.executionStartTime,
    },
  });
}

function invoke(scope: Construct, step: TaskStep, fn: lambda.IFunction): tasks.LambdaInvoke {
  return new tasks.LambdaInvoke(scope, step.state, {
    stateName: step.state,
    comment: step.description,
    lambdaFunction: fn,
    payload: stepPayload(),
    // Lambda's own transient errors are in TRANSIENT_RETRY; one retrier, one policy.
    retryOnServiceExceptions: false,
    resultSelector: { 'output.$': '$.Payload' },
    resultPath: `$.steps.${step.state}`,
    taskTimeout: sfn.Timeout.duration(Duration.seconds(step.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS)),
  });
}

/**
 * Validate -> CreateSchema -> SyncTables -> CreateIndexes -> Seed -> [UsesTemplate: ApplySettings ->
 * CreateAdminUser -> LoadInitialData] -> Verify -> Register.
 * Every step retries transient faults with backoff and jitter; any other failure is caught with
 * the error under `$.failure.<StepName>`, so Cleanup knows which step failed, and the run ends in
 * the ProvisioningFailed state after Cleanup.
 */
export function buildProvisionDefinition(scope: Construct, functions: ProvisionFunctions): sfn.IChainable {
  const fn = (step: TaskStep): lambda.IFunction => {
    const f = functions[step.state];
    if (!f) throw new Error(`no function for state ${step.state}`);
    return f;
  };

  const failed = new sfn.Fail(scope, PROVISION_FAILED_STATE, {
    stateName: PROVISION_FAILED_STATE,
    comment: 'Provisioning failed; Cleanup has run',
    errorPath: '$.steps.Cleanup.output.error',
    causePath: '$.steps.Cleanup.output.cause',
  });
  const cleanup = invoke(scope, PROVISION_CLEANUP, fn(PROVISION_CLEANUP));
  cleanup.addRetry(TRANSIENT_RETRY);
  // Cleanup returns {error, cause, step}; the Fail state reports that error and cause.
  const cleanupThenFail = cleanup.next(failed);

  const steps: readonly TaskStep[] = PROVISION_STEPS;
  const tasks = steps.map((step) => {
    const task = invoke(scope, step, fn(step));
    task.addRetry(TRANSIENT_RETRY);
    task.addCatch(cleanupThenFail, { errors: ['States.ALL'], resultPath: `$.failure.${step.state}` });
    return { step, task };
  });

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
