import type { ExecutionStatus, HistoryEvent } from '../progress';
import type { WorkflowName } from '../workflows';

/**
 * The workflow-engine port: what the API asks of an engine that runs the Provision workflow.
 * Step Functions (`sfn.ts`) and the local engine (`LocalWorkflowEngine` in local/server.ts) both
 * implement it with the same semantics, so every route behaves the same on either.
 *
 * Executions are addressed by their id (the execution ARN); `executionArn(name)` builds it.
 */
export interface ExecutionDescription {
  readonly executionId: string;
  readonly name: string;
  readonly status: ExecutionStatus;
  /** The execution's input document, parsed. */
  readonly input: unknown;
  readonly error: string | null;
  readonly cause: string | null;
  readonly startedAt: string;
  readonly stoppedAt: string | null;
}

export interface ExecutionListItem {
  readonly executionId: string;
  readonly name: string;
  readonly status: ExecutionStatus;
  readonly startedAt: string;
  readonly stoppedAt: string | null;
}

export interface Page<T> {
  readonly items: T[];
  /** Pass back to get the next page; absent on the last one. */
  readonly nextToken?: string;
}

export interface PageRequest {
  /** @default 100 */
  readonly limit?: number;
  readonly nextToken?: string;
}

export interface StartedExecution {
  readonly executionId: string;
  readonly name: string;
  /**
   * False when an execution with this name already existed (idempotent start): nothing new ran.
   * Step Functions answers a repeat of a still-open start as a success, so there this can be true
   * for both of two racing callers; the execution id is the same either way.
   */
  readonly started: boolean;
}

export interface StopReason {
  readonly error: string;
  readonly cause: string;
}

/** The workflows the API drives: those of shared/workflows.ts. */
export type { WorkflowName } from '../workflows';

export interface WorkflowEngine {
  /** The Provision workflow's task states in workflow order, Cleanup last: the steps an execution shows. */
  readonly steps: readonly string[];
  /** The workflows this engine can run and find executions of, Provision first. */
  readonly workflows: readonly WorkflowName[];
  /** A workflow's task states in order: the steps its executions show. */
  stepsOf(workflow: WorkflowName): readonly string[];
  /** The execution ARN for an execution name of a workflow. @default workflow 'Provision' */
  executionArn(name: string, workflow?: WorkflowName): string;
  /**
   * Starts an execution of a workflow (Provision by default) named `name`, idempotent by name: an
   * execution that already has this name (running or not) is returned instead, with `started: false`.
   */
  start(
    name: string,
    tenantId: string,
    input: Record<string, unknown>,
    workflow?: WorkflowName,
  ): Promise<StartedExecution>;
  describe(executionId: string): Promise<ExecutionDescription | undefined>;
  /** One page of the execution's history, oldest first, in GetExecutionHistory's shape. */
  history(executionId: string, page?: PageRequest): Promise<Page<HistoryEvent>>;
  /** Stops a running execution with this error and cause (recorded on its ExecutionAborted event). */
  stop(executionId: string, reason: StopReason): Promise<void>;
  /** The tenant's Provision executions, newest first. */
  listByTenant(tenantId: string, page?: PageRequest): Promise<Page<ExecutionListItem>>;
}

/** Every event of an execution, following the pages. */
export async function fullHistory(engine: WorkflowEngine, executionId: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await engine.history(executionId, { limit: 1000, nextToken });
    events.push(...page.items);
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}
