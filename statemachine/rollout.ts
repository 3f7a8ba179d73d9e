import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import {
  ROLLOUT_ACTION_CHOICE,
  ROLLOUT_CANCELLED_STATE,
  ROLLOUT_CLEANUP,
  ROLLOUT_FAILED_STATE,
  ROLLOUT_HALT_CHOICE,
  ROLLOUT_HALTED_STATE,
  ROLLOUT_MIGRATE_TENANT_STATE,
  ROLLOUT_PAUSED_STATE,
  ROLLOUT_STEPS,
  ROLLOUT_SUCCEEDED_STATE,
  ROLLOUT_WAVE_STATE,
  type TaskStep,
} from './steps';
import { failurePath, functionFor, lambdaTask, type WorkflowFunctions } from './tasks';

/** The other state machines a workflow starts, by workflow name. */
export type WorkflowMachines = Readonly<Record<string, sfn.IStateMachine>>;

const stepNamed = (state: string): TaskStep => {
  const step = ROLLOUT_STEPS.find((s) => s.state === state);
  if (!step) throw new Error(`the Rollout workflow has no step ${state}`);
  return step;
};

/**
 * Select -> NextWave -> WhatNext? (a wave: Wave -> FinishWave -> WaveHalts? (RolloutHalted, or
 * NextWave again); paused, cancelled or done: end). Wave is a Distributed Map over the wave's
 * tenants, read from the object NextWave wrote (ItemReader), at most `concurrency` at once, each
 * item a Migrate execution started and waited for (startExecution.sync:2); the Map fails once its
 * failures pass the wave's tolerance (ToleratedFailureCount/Percentage from NextWave). Either way
 * FinishWave records each tenant's outcome and decides the halt. The steps retry transient faults
 * and catch the rest into Cleanup, which halts the rollout with the error, to be resumed.
 */
export function buildRolloutDefinition(
  scope: Construct,
  functions: WorkflowFunctions,
  machines: WorkflowMachines = {},
): sfn.IChainable {
  const migrate = machines.Migrate;
  if (!migrate) throw new Error('the Rollout workflow needs the Migrate state machine');
  const { guard } = failurePath(scope, functions, {
    cleanup: ROLLOUT_CLEANUP,
    failedState: ROLLOUT_FAILED_STATE,
    comment: 'The rollout machinery failed; Cleanup halted the rollout',
  });
  const task = (state: string) => {
    const step = stepNamed(state);
    return guard(lambdaTask(scope, step, functionFor(functions, step)), step);
  };
  const select = task('Select');
  const nextWave = task('NextWave');
  const finishWave = task('FinishWave');

  const migrateTenant = new tasks.StepFunctionsStartExecution(scope, ROLLOUT_MIGRATE_TENANT_STATE, {
    stateName: ROLLOUT_MIGRATE_TENANT_STATE,
    comment: "One tenant's Migrate execution, waited for: it fails when the migration does",
    stateMachine: migrate,
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    name: sfn.JsonPath.stringAt('$.name'),
    input: sfn.TaskInput.fromObject({
      tenantId: sfn.JsonPath.stringAt('$.tenantId'),
      targetVersion: sfn.JsonPath.numberAt('$.targetVersion'),
      requestedBy: sfn.JsonPath.stringAt('$.requestedBy'),
      rolloutId: sfn.JsonPath.stringAt('$.rolloutId'),
    }),
    associateWithParent: true,
    resultPath: sfn.JsonPath.DISCARD,
  });
  const wave = new sfn.DistributedMap(scope, ROLLOUT_WAVE_STATE, {
    stateName: ROLLOUT_WAVE_STATE,
    comment: "The wave's tenants, a Migrate execution each, at most `concurrency` at once",
    itemReader: new sfn.S3JsonItemReader({
      bucketNamePath: sfn.JsonPath.stringAt('$.steps.NextWave.output.bucket'),
      key: sfn.JsonPath.stringAt('$.steps.NextWave.output.key'),
    }),
    maxConcurrencyPath: sfn.JsonPath.stringAt('$.steps.Select.output.concurrency'),
    toleratedFailureCountPath: sfn.JsonPath.stringAt('$.steps.NextWave.output.toleratedFailureCount'),
    toleratedFailurePercentagePath: sfn.JsonPath.stringAt(
      '$.steps.NextWave.output.toleratedFailurePercentage',
    ),
    mapExecutionType: sfn.StateMachineType.STANDARD,
    label: 'Wave',
    // Each tenant's outcome is in the control schema; FinishWave reads it there.
    resultPath: sfn.JsonPath.DISCARD,
  });
  wave.itemProcessor(migrateTenant);
  // Past its tolerance the Map fails: FinishWave still records every outcome and halts.
  wave.addCatch(finishWave, { errors: ['States.ALL'], resultPath: '$.waveFailure' });

  const halted = new sfn.Fail(scope, ROLLOUT_HALTED_STATE, {
    stateName: ROLLOUT_HALTED_STATE,
    comment: "A wave's failures passed its tolerance: no later wave started",
    error: 'RolloutHalted',
    causePath: '$.steps.FinishWave.output.reason',
  });
  finishWave.next(
    new sfn.Choice(scope, ROLLOUT_HALT_CHOICE, {
      stateName: ROLLOUT_HALT_CHOICE,
      comment: 'Halt, or the next wave',
    })
      .when(sfn.Condition.booleanEquals('$.steps.FinishWave.output.halted', true), halted)
      .otherwise(nextWave),
  );
  const end = (id: string, comment: string) => new sfn.Succeed(scope, id, { stateName: id, comment });
  const action = (value: string) => sfn.Condition.stringEquals('$.steps.NextWave.output.action', value);
  const whatNext = new sfn.Choice(scope, ROLLOUT_ACTION_CHOICE, {
    stateName: ROLLOUT_ACTION_CHOICE,
    comment: 'A wave to run, or the end: done, paused or cancelled',
  })
    .when(action('wave'), wave.next(finishWave))
    .when(
      action('paused'),
      end(ROLLOUT_PAUSED_STATE, 'Paused before its next wave; resume starts a new execution'),
    )
    .when(
      action('cancelled'),
      end(ROLLOUT_CANCELLED_STATE, 'Cancelled; its pending tenants were not touched'),
    )
    .otherwise(end(ROLLOUT_SUCCEEDED_STATE, 'Every selected tenant migrated or skipped'));
  return sfn.Chain.start(select).next(nextWave).next(whatNext);
}
