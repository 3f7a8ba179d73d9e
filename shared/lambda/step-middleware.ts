import type middy from '@middy/core';
import { TenantryError } from '../errors';
import { type LogContext, logger } from '../observability/logger';
import { putMetric } from '../observability/metrics';
import type { StepEvent } from '../provision/schemas';
import type { WorkflowName } from '../workflows';

interface StepRef {
  readonly workflow: WorkflowName;
  readonly state: string;
}

type Loose = Record<string, unknown> | undefined;
const field = (value: unknown, key: string): unknown =>
  value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
const text = (value: unknown): string | undefined => (typeof value === 'string' && value ? value : undefined);

/** What correlates a step's log entries: its execution, tenant (or rollout), workflow and step. */
export function stepLogContext(step: StepRef, event: unknown): LogContext {
  const state = field(event, 'state') as Loose;
  return {
    workflow: step.workflow,
    step: step.state,
    executionId: text(field(field(event, 'execution'), 'id')),
    tenantId: text(state?.tenantId),
    ...(text(state?.rolloutId) && { rolloutId: text(state?.rolloutId) }),
  };
}

/** The blueprint a run works on: in its request, or in what its Validate (or Select) found. */
function blueprintOf(state: Loose): string {
  const steps = state?.steps as Record<string, { output?: unknown }> | undefined;
  const first = steps?.Validate?.output ?? steps?.Select?.output;
  return (
    text(state?.blueprint) ??
    text(field(first, 'blueprint')) ??
    text(field(field(first, 'target'), 'blueprint')) ??
    'unknown'
  );
}

/**
 * The metrics a step's success says about its run (shared/observability/catalog.ts): the last
 * step of each workflow counts the tenant it finished and the run's duration; Cleanup counts the
 * failure with the step that failed; a halting wave counts the halted rollout.
 */
function outcomeMetrics(step: StepRef, event: StepEvent, output: unknown): void {
  const { workflow, state } = step;
  const blueprint = blueprintOf(event.state as Loose);
  const duration = () => {
    const started = Date.parse(event.execution.startTime);
    if (Number.isFinite(started))
      putMetric('WorkflowDuration', { workflow }, Math.max(0, Date.now() - started));
  };
  const finished = (
    metric: 'TenantsProvisioned' | 'TenantsRestored' | 'TenantsDeprovisioned' | 'TenantsMigrated',
  ) => {
    putMetric(metric, { workflow, blueprint });
    duration();
  };
  if (state === 'Cleanup') {
    putMetric('WorkflowFailed', { workflow, step: text(field(output, 'step')) ?? 'unknown' });
    if (workflow === 'Rollout') putMetric('RolloutHalted', { workflow, blueprint });
    return;
  }
  if (workflow === 'Provision' && state === 'Register' && field(output, 'alreadyRegistered') !== true)
    finished((event.state as Loose)?.restore ? 'TenantsRestored' : 'TenantsProvisioned');
  else if (workflow === 'Deprovision' && state === 'Finalize') finished('TenantsDeprovisioned');
  else if (workflow === 'Migrate' && state === 'Record') finished('TenantsMigrated');
  else if (workflow === 'Rollout' && state === 'FinishWave' && field(output, 'halted') === true)
    putMetric('RolloutHalted', { workflow, blueprint });
  else if (workflow === 'Rollout' && state === 'NextWave' && field(output, 'action') === 'done') duration();
}

/**
 * Middleware for workflow step Lambdas: logs each step's start, end and error, emits its metrics
 * (duration, failure, retry, and the run's outcome at its last step or Cleanup), and lets typed
 * errors through untouched, because their `name` is what the workflow's Retry and Catch match on.
 * Untyped errors keep their own name and are treated as permanent. The log context (execution,
 * tenant, step) is set around the whole invocation by `workflowStep`.
 */
export function stepMiddleware(step: StepRef): middy.MiddlewareObj<unknown, unknown> {
  const started = new WeakMap<object, number>();
  const dimensions = { workflow: step.workflow, step: step.state };
  const elapsed = (request: object) => Date.now() - (started.get(request) ?? Date.now());
  return {
    before: (request) => {
      started.set(request, Date.now());
      const retryCount = Number(field(field(request.event, 'execution'), 'retryCount') ?? 0);
      if (retryCount > 0) putMetric('StepRetried', dimensions);
      logger.info('step started', retryCount > 0 ? { retryCount } : {});
    },
    after: (request) => {
      const durationMs = elapsed(request);
      putMetric('StepDuration', dimensions, durationMs);
      outcomeMetrics(step, request.event as StepEvent, request.response);
      logger.info('step succeeded', { durationMs });
    },
    onError: (request) => {
      const durationMs = elapsed(request);
      putMetric('StepDuration', dimensions, durationMs);
      putMetric('StepFailed', dimensions);
      const error = request.error;
      logger.error('step failed', {
        durationMs,
        error:
          error instanceof TenantryError ? error.toJSON() : { name: error?.name, message: error?.message },
        retryable: error instanceof TenantryError ? error.retryable : false,
      });
    },
  };
}
