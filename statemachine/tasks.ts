import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { CLEANUP_RETRY, TRANSIENT_RETRY } from './retry';
import { DEFAULT_TASK_TIMEOUT_SECONDS, type TaskStep } from './steps';

/** One function per task state, keyed by state name. */
export type WorkflowFunctions = Readonly<Record<string, lambda.IFunction>>;

export function functionFor(functions: WorkflowFunctions, step: TaskStep): lambda.IFunction {
  const f = functions[step.state];
  if (!f) throw new Error(`no function for state ${step.state}`);
  return f;
}

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
      // 0 on entering the state, then 1, 2, ... at each retry: the StepRetried metric.
      retryCount: sfn.JsonPath.numberAt('$$.State.RetryCount'),
    },
  });
}

/** A Lambda task whose result lands under `$.steps.<State>.output`, retrying transient faults. */
export function lambdaTask(
  scope: Construct,
  step: TaskStep,
  fn: lambda.IFunction,
  retry: sfn.RetryProps = TRANSIENT_RETRY,
): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, step.state, {
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
  task.addRetry(retry);
  return task;
}

export interface FailurePathProps {
  readonly cleanup: TaskStep;
  readonly failedState: string;
  readonly comment: string;
}

/**
 * Cleanup, then a Fail state reporting the error and cause Cleanup returns. `guard` sends any
 * error a task does not retry there, with the error under `$.failure.<State>` so Cleanup knows
 * which step failed.
 */
export function failurePath(scope: Construct, functions: WorkflowFunctions, props: FailurePathProps) {
  const failed = new sfn.Fail(scope, props.failedState, {
    stateName: props.failedState,
    comment: props.comment,
    errorPath: `$.steps.${props.cleanup.state}.output.error`,
    causePath: `$.steps.${props.cleanup.state}.output.cause`,
  });
  const cleanupThenFail = lambdaTask(
    scope,
    props.cleanup,
    functionFor(functions, props.cleanup),
    CLEANUP_RETRY,
  ).next(failed);
  return {
    guard<T extends tasks.LambdaInvoke>(task: T, step: TaskStep): T {
      task.addCatch(cleanupThenFail, { errors: ['States.ALL'], resultPath: `$.failure.${step.state}` });
      return task;
    },
  };
}
