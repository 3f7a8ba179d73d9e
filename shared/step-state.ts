import type { z } from 'zod';
import { ValidationError } from './errors';
import type { StepEvent } from './provision/schemas';
import { parseOrThrow } from './validation';

/**
 * What a workflow's state document holds for its steps, read the same way by every workflow:
 * a step's output under `steps.<Step>.output`, and the error a Catch put under `failure.<Step>`.
 */

/** A step's output, parsed with its schema; a ValidationError when that step has not run. */
export function stepOutput<T>(event: StepEvent, step: string, schema: z.ZodType<T>): T {
  const raw = event.state.steps?.[step]?.output;
  if (raw === undefined)
    throw new ValidationError([{ field: `state.steps.${step}`, reason: 'missing: that step has not run' }]);
  return parseOrThrow(schema, raw, `state.steps.${step}.output.`);
}

/** The failure Cleanup runs for: the step it came from, the error's name and its cause as caught. */
export function caughtFailure(event: StepEvent): { step: string; error: string; cause: string } {
  const [step, caught] = Object.entries(event.state.failure ?? {})[0] ?? [
    'unknown',
    { Error: 'Unknown', Cause: '' },
  ];
  return { step, error: caught.Error, cause: caught.Cause ?? '' };
}
