import { isRetriedError } from './errors';

/**
 * The step-progress model the CLI and the API show, derived from an execution's history. The
 * history is in GetExecutionHistory's shape on both engines (the local engine writes it that way),
 * so this one mapper serves AWS and local alike.
 */

/** A history event as GetExecutionHistory returns it (the fields Tenantry reads). */
export interface HistoryEvent {
  readonly id: number;
  readonly previousEventId?: number;
  readonly timestamp: string;
  readonly type: string;
  readonly executionStartedEventDetails?: { readonly input?: string; readonly roleArn?: string };
  readonly executionSucceededEventDetails?: { readonly output?: string };
  readonly executionFailedEventDetails?: { readonly error?: string; readonly cause?: string };
  readonly executionAbortedEventDetails?: { readonly error?: string; readonly cause?: string };
  readonly executionTimedOutEventDetails?: { readonly error?: string; readonly cause?: string };
  readonly stateEnteredEventDetails?: { readonly name: string; readonly input?: string };
  readonly stateExitedEventDetails?: { readonly name: string; readonly output?: string };
  readonly taskScheduledEventDetails?: {
    readonly resourceType: string;
    readonly resource: string;
    readonly region?: string;
    readonly parameters?: string;
    readonly timeoutInSeconds?: number;
  };
  readonly taskStartedEventDetails?: { readonly resourceType: string; readonly resource: string };
  readonly taskSucceededEventDetails?: {
    readonly resourceType: string;
    readonly resource: string;
    readonly output?: string;
  };
  readonly taskFailedEventDetails?: {
    readonly resourceType: string;
    readonly resource: string;
    readonly error?: string;
    readonly cause?: string;
  };
  readonly taskTimedOutEventDetails?: {
    readonly resourceType: string;
    readonly resource: string;
    readonly error?: string;
    readonly cause?: string;
  };
  readonly lambdaFunctionFailedEventDetails?: { readonly error?: string; readonly cause?: string };
  /** A `.sync` service integration's request was accepted (a child execution started). */
  readonly taskSubmittedEventDetails?: {
    readonly resourceType: string;
    readonly resource: string;
    readonly output?: string;
  };
  /** An Inline Map started: how many items it has. */
  readonly mapStateStartedEventDetails?: { readonly length?: number };
  readonly mapIterationStartedEventDetails?: MapIterationEventDetails;
  readonly mapIterationSucceededEventDetails?: MapIterationEventDetails;
  readonly mapIterationFailedEventDetails?: MapIterationEventDetails;
  readonly mapIterationAbortedEventDetails?: MapIterationEventDetails;
  /** A Distributed Map started its Map Run. */
  readonly mapRunStartedEventDetails?: { readonly mapRunArn?: string };
  readonly mapRunFailedEventDetails?: { readonly error?: string; readonly cause?: string };
}

/** Which iteration of which (Inline) Map state an event is about. */
export interface MapIterationEventDetails {
  readonly name?: string;
  readonly index?: number;
}

export type StepStatus =
  | 'pending'
  | 'running'
  | 'retrying'
  | 'succeeded'
  | 'failed'
  | 'skipped'
  | 'cancelled';
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface StepError {
  readonly error: string;
  readonly cause: string;
}

export interface StepProgress {
  readonly name: string;
  status: StepStatus;
  /** Lambda invocations of the step, retries included. */
  attempts: number;
  /** How often the workflow entered the step, when more than once (Backup goes on in a new invocation). */
  invocations?: number;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  warnings: string[];
  error?: StepError;
  /** The step's result (the Lambda's payload), when it succeeded. */
  output?: unknown;
}

const TERMINAL: Readonly<Record<string, ExecutionStatus>> = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionTimedOut: 'TIMED_OUT',
  ExecutionAborted: 'ABORTED',
};

/** A Lambda error's cause is JSON ({errorType, errorMessage, trace}); people want the message. */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // a plain-text cause
  }
  return cause;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function warningsOf(payload: unknown): string[] {
  const warnings = (payload as { warnings?: unknown } | undefined)?.warnings;
  if (!Array.isArray(warnings)) return [];
  return warnings.map((w) => {
    if (typeof w === 'string') return w;
    const o = w as { index?: string; message?: string };
    return o.index ? `index ${o.index}: ${o.message ?? 'failed'}` : JSON.stringify(w);
  });
}

export interface ExecutionProgress {
  readonly status: ExecutionStatus;
  readonly steps: StepProgress[];
  readonly error?: StepError;
}

/** The events that open and close an Inline Map's iterations, whose state events are not steps. */
const INLINE_MAP_OPENS = 'MapStateStarted';
const INLINE_MAP_CLOSES: ReadonlySet<string> = new Set([
  'MapStateSucceeded',
  'MapStateFailed',
  'MapStateAborted',
]);

/**
 * Folds history into one entry per task state, in workflow order. While a run is going, states
 * not reached are `pending`; once it has ended they are `skipped` (or `cancelled` when aborted).
 * A task that failed with an error the workflow retries (RETRIED_ERROR_NAMES) and is waiting for
 * its next attempt is `retrying`; with any other error it is `failed` at once. A Map state is a step like
 * a task (failed when its Map Run or Inline Map failed); the events of an Inline Map's iterations,
 * which GetExecutionHistory interleaves with the execution's own, are not steps of it.
 */
export function stepsFromHistory(
  stepNames: readonly string[],
  history: readonly HistoryEvent[],
): ExecutionProgress {
  const steps = new Map<string, StepProgress>(
    stepNames.map((name) => [name, { name, status: 'pending', attempts: 0, warnings: [] }]),
  );
  let current: StepProgress | undefined;
  let status: ExecutionStatus = 'RUNNING';
  let executionError: StepError | undefined;

  /** A step whose last attempt failed and that has not ended yet: retried, or failed for good. */
  const attemptFailed = (step: StepProgress) =>
    step.status === 'retrying' || (step.status === 'failed' && step.endedAt === undefined);
  const close = (step: StepProgress, state: StepStatus, at: string) => {
    step.status = state;
    step.endedAt = at;
    if (step.startedAt) step.durationMs = Date.parse(at) - Date.parse(step.startedAt);
  };

  let inlineMaps = 0;
  for (const event of history) {
    if (event.type === INLINE_MAP_OPENS || event.type === 'MapRunStarted') {
      // A Map (again, on a retry) starting: its step is running.
      if (inlineMaps === 0 && current) current.status = 'running';
      if (event.type === INLINE_MAP_OPENS) inlineMaps += 1;
      continue;
    }
    if (INLINE_MAP_CLOSES.has(event.type)) {
      inlineMaps = Math.max(0, inlineMaps - 1);
      if (event.type === 'MapStateFailed' && current && inlineMaps === 0) current.status = 'retrying';
      continue;
    }
    if (inlineMaps > 0 && !TERMINAL[event.type]) continue;
    if (event.type === 'MapRunFailed' && current) {
      const details = event.mapRunFailedEventDetails;
      current.status = 'retrying';
      current.error = { error: details?.error ?? 'Error', cause: causeMessage(details?.cause) };
      continue;
    }
    const entered = event.stateEnteredEventDetails;
    if (event.type.endsWith('StateEntered') && entered) {
      if (current && (current.status === 'running' || attemptFailed(current)))
        close(current, 'failed', event.timestamp);
      current = steps.get(entered.name);
      if (current) {
        current.status = 'running';
        // A step entered again (Backup's next invocation) keeps the time it first started.
        if (current.startedAt) current.invocations = (current.invocations ?? 1) + 1;
        current.startedAt ??= event.timestamp;
      }
      continue;
    }
    if (event.type === 'TaskScheduled' && current) {
      current.attempts += 1;
      current.status = 'running';
      continue;
    }
    const failed =
      event.taskFailedEventDetails ??
      event.taskTimedOutEventDetails ??
      event.lambdaFunctionFailedEventDetails;
    if (
      (event.type === 'TaskFailed' ||
        event.type === 'TaskTimedOut' ||
        event.type === 'LambdaFunctionFailed') &&
      current
    ) {
      const error = failed?.error ?? 'Error';
      // Retrying only when the workflow's Retry matches the error; any other has failed the step.
      current.status = isRetriedError(error) ? 'retrying' : 'failed';
      current.error = { error, cause: causeMessage(failed?.cause) };
      continue;
    }
    if (event.type === 'TaskSucceeded' && current) {
      const result = parseJson(event.taskSucceededEventDetails?.output) as { Payload?: unknown } | undefined;
      current.output = result && typeof result === 'object' && 'Payload' in result ? result.Payload : result;
      current.warnings = warningsOf(current.output);
      current.error = undefined;
      current.status = 'running';
      continue;
    }
    const exited = event.stateExitedEventDetails;
    if (event.type.endsWith('StateExited') && exited) {
      const step = steps.get(exited.name);
      if (step) close(step, attemptFailed(step) ? 'failed' : 'succeeded', event.timestamp);
      current = undefined;
      continue;
    }
    const terminal = TERMINAL[event.type];
    if (terminal) {
      status = terminal;
      const details =
        event.executionFailedEventDetails ??
        event.executionAbortedEventDetails ??
        event.executionTimedOutEventDetails;
      if (details?.error || details?.cause) {
        executionError = { error: details.error ?? terminal, cause: causeMessage(details.cause) };
      }
      const endAs: StepStatus = terminal === 'ABORTED' ? 'cancelled' : 'failed';
      for (const step of steps.values()) {
        if (step.status === 'running' || attemptFailed(step)) close(step, endAs, event.timestamp);
        else if (step.status === 'pending') step.status = terminal === 'ABORTED' ? 'cancelled' : 'skipped';
      }
    }
  }
  return { status, steps: [...steps.values()], ...(executionError ? { error: executionError } : {}) };
}
