import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { StepOutputError } from '../errors';
import { annotate, powertools } from '../observability/lambda';
import { withLogContext } from '../observability/logger';
import { type StepEvent, StepEventSchema } from '../provision/schemas';
import { openAtInit, type Runtime, runtime } from '../runtime';
import { buildNow, parseOrThrow } from '../validation';
import { stepOf, type TaskStateOf, type WorkflowName } from '../workflows';
import { stepLogContext, stepMiddleware } from './step-middleware';

/**
 * The Lambda handler of a workflow step (shared/workflows.ts): Powertools' Logger and Tracer on
 * Lambda, logs, metrics and typed errors (stepMiddleware) with the run's execution and tenant on
 * every entry (withLogContext, around the whole invocation),
 * the event parsed, `fn` run against the runtime, and its result checked against the step's output
 * schema before the workflow sees it. The step's name comes from the definition, never a literal.
 */
export function workflowStep<W extends WorkflowName, T>(
  workflow: W,
  state: TaskStateOf<W>,
  fn: (rt: Runtime, event: StepEvent, context: Context) => Promise<T>,
) {
  const step = stepOf(workflow, state);
  // This step's output schema and the event's are built at init; no other step's is, in this bundle.
  const output = step.output();
  buildNow(StepEventSchema);
  // The database the step runs against, opened at init on Lambda.
  openAtInit();
  const ref = { workflow, state };
  const invoke = middy<unknown, T>()
    .use(powertools())
    .use(stepMiddleware(ref))
    .handler(async (event, context) => {
      annotate('workflow', workflow);
      annotate('step', state);
      const result = await fn(await runtime(), parseOrThrow(StepEventSchema, event, 'event.'), context);
      const checked = output.safeParse(result);
      if (!checked.success) {
        throw new StepOutputError(
          `${workflow}.${state} returned what its definition does not allow: ${checked.error.issues
            .map((i) => `${i.path.join('.') || '(output)'}: ${i.message}`)
            .join('; ')}`,
        );
      }
      return result;
    });
  return (event: unknown, context = {} as Context): Promise<T> =>
    withLogContext(stepLogContext(ref, event), () => invoke(event, context));
}
