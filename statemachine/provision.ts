import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import {
  PROVISION_CLEANUP,
  PROVISION_FAILED_STATE,
  PROVISION_LOGIN_CHOICE,
  PROVISION_RESTORE_CHOICE,
  PROVISION_STEPS,
  PROVISION_SUCCEEDED_STATE,
  PROVISION_TEMPLATE_CHOICE,
  type TaskStep,
} from './steps';
import { failurePath, functionFor, lambdaTask, type WorkflowFunctions } from './tasks';

/**
 * Validate -> CreateSchema -> SyncTables -> CreateIndexes -> RestoresBackup? (RestoreRows) or
 * (Seed -> UsesTemplate? (ApplySettings -> CreateAdminUser -> LoadInitialData)) -> Verify ->
 * GetsLogin? (CreateLogin) -> Register.
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
  const taskOf = new Map(tasks.map((t) => [t.step, t.task]));
  const chainOf = (group: readonly TaskStep[]): sfn.Chain => {
    const [head, ...tail] = group.map((step) => taskOf.get(step));
    if (!head || tail.some((t) => !t)) throw new Error('the Provision workflow lost its steps');
    return tail.reduce<sfn.Chain>((chain, t) => chain.next(t as sfn.IChainable), sfn.Chain.start(head));
  };

  // Groups in console order: before the restore choice, the restore branch, the build branch
  // (Seed, then the template choice and its steps), the steps every run joins at, the login
  // choice and its step, and the steps every run ends with.
  const restoreAt = steps.findIndex((s) => s.restoreOnly);
  const templateAt = steps.findIndex((s) => s.templateOnly);
  const joinAt = steps.findIndex((s, i) => i > templateAt && !s.templateOnly);
  const loginAt = steps.findIndex((s) => s.loginOnly);
  const endAt = steps.findIndex((s, i) => i > loginAt && !s.loginOnly);
  const before = steps.slice(0, restoreAt);
  const restore = steps.filter((s) => s.restoreOnly);
  const build = steps.slice(restoreAt, templateAt).filter((s) => !s.restoreOnly);
  const template = steps.filter((s) => s.templateOnly);
  const after = steps.slice(joinAt, loginAt);
  const login = steps.filter((s) => s.loginOnly);
  const end = steps.slice(endAt);
  if (
    restoreAt < 1 ||
    templateAt <= restoreAt ||
    joinAt <= templateAt ||
    loginAt <= joinAt ||
    endAt <= loginAt ||
    steps.slice(loginAt, endAt).length !== login.length
  )
    throw new Error('the Provision workflow is out of order');

  const finish = chainOf(end);
  finish.next(succeeded);
  const loginChoice = choiceOn(
    scope,
    PROVISION_LOGIN_CHOICE,
    'A tenant that gets a login of its own (asked for, by its template, or restored with one)',
    'login',
    chainOf(login).next(finish),
    finish,
  );
  const join = chainOf(after);
  join.next(loginChoice);
  const templateChoice = choiceOn(
    scope,
    PROVISION_TEMPLATE_CHOICE,
    'Requests with a template get its settings, admin user and initial data',
    'template',
    chainOf(template).next(join),
    join,
  );
  const restoreChoice = choiceOn(
    scope,
    PROVISION_RESTORE_CHOICE,
    'A restore loads the backup in place of the seed and template data',
    'restore',
    chainOf(restore).next(join),
    chainOf(build).next(templateChoice),
  );
  return chainOf(before).next(restoreChoice);
}

/** A Choice on whether Validate's plan has `field`: `then` if it has, else `otherwise`. */
function choiceOn(
  scope: Construct,
  name: string,
  comment: string,
  field: string,
  then: sfn.IChainable,
  otherwise: sfn.IChainable,
): sfn.Choice {
  return new sfn.Choice(scope, name, { stateName: name, comment })
    .when(sfn.Condition.isPresent(`$.steps.Validate.output.${field}`), then)
    .otherwise(otherwise);
}
