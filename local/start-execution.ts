import * as z from 'zod';
import type { ExecutionRecord } from './engine';
import { statesError } from './map-state';

/**
 * What a Task with `arn:aws:states:::states:startExecution.sync(:2)` asks of the local engine, and
 * what it gets back: the engine (engine.ts) starts the child as a run of its own, recorded like any
 * other, waits for it and answers as Step Functions does.
 */

const STATE_MACHINE_ARN = /^arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:([\w-]+)$/;

/** The Task's Parameters, as StartExecution takes them (Input may be JSON text or an object). */
export const StartExecutionParametersSchema = z
  .object({
    StateMachineArn: z.string().regex(STATE_MACHINE_ARN, 'must be a state machine ARN'),
    Input: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
    Name: z
      .string()
      .regex(/^[\w-]{1,80}$/, 'must be 1-80 letters, digits, - or _')
      .optional(),
  })
  .passthrough();
export type StartExecutionParameters = z.infer<typeof StartExecutionParametersSchema>;

/**
 * The local workflow a state machine ARN stands for. Convention: the state machine's name is the
 * workflow's (`...:stateMachine:Migrate`, as the local engine names them: `executionArn`), or ends
 * in `-<Workflow>` (`...:stateMachine:tenantry-Migrate`, a placeholder like `localFunctionArn`'s
 * `tenantry-<State>`, or a deployed name given that shape): the workflow is the segment after the
 * name's last `-`.
 */
export function workflowOfStateMachineArn(arn: string): string | undefined {
  const name = STATE_MACHINE_ARN.exec(arn)?.[1];
  return name?.split('-').at(-1);
}

export interface ChildRequest {
  readonly input: Record<string, unknown>;
  /**
   * The child's tenant key in the local store (one RUNNING execution per tenant and workflow):
   * the `tenantId` its input carries, as every Tenantry workflow's input does.
   */
  readonly tenantId: string;
  readonly name?: string;
}

/** The child's input and tenant from the Task's Parameters; `States.Runtime` when they do not make one. */
export function childRequest(params: StartExecutionParameters, state: string): ChildRequest {
  let input: unknown = params.Input ?? {};
  if (typeof input === 'string') {
    try {
      input = JSON.parse(input);
    } catch {
      throw statesError('States.Runtime', `state ${state}: Input is not JSON`);
    }
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw statesError('States.Runtime', `state ${state}: Input must be a JSON object`);
  }
  const tenantId = (input as { tenantId?: unknown }).tenantId;
  if (typeof tenantId !== 'string' || tenantId === '') {
    throw statesError(
      'States.Runtime',
      `state ${state}: the local engine keys a child execution by its input's tenantId, and Input has none`,
    );
  }
  return { input: input as Record<string, unknown>, tenantId, ...(params.Name ? { name: params.Name } : {}) };
}

/** DescribeExecution's fields for a closed child, as a `.sync` Task returns (and fails with) them. */
function described(record: ExecutionRecord, stateMachineArn: string) {
  return {
    ExecutionArn: record.executionId,
    StateMachineArn: stateMachineArn,
    Name: record.name,
    Status: record.status,
    StartDate: Date.parse(record.startedAt),
    ...(record.stoppedAt ? { StopDate: Date.parse(record.stoppedAt) } : {}),
    Input: JSON.stringify(record.input ?? null),
    InputDetails: { Included: true },
  };
}

/**
 * A SUCCEEDED child as the Task's result: DescribeExecution's shape, with Output parsed (`.sync:2`)
 * or as JSON text (`.sync`).
 */
export function childOutput(
  record: ExecutionRecord,
  stateMachineArn: string,
  integration: 'sync' | 'sync:2',
): Record<string, unknown> {
  return {
    ...described(record, stateMachineArn),
    Output: integration === 'sync:2' ? (record.output ?? null) : JSON.stringify(record.output ?? null),
    OutputDetails: { Included: true },
  };
}

/** A child that ended otherwise: the Task fails with States.TaskFailed, the description as its cause. */
export function childFailure(record: ExecutionRecord, stateMachineArn: string): Error {
  return statesError(
    'States.TaskFailed',
    JSON.stringify({
      ...described(record, stateMachineArn),
      ...(record.error ? { Error: record.error } : {}),
      ...(record.cause ? { Cause: record.cause } : {}),
    }),
  );
}
