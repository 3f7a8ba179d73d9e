import type middy from '@middy/core';
import { TenantryError } from '../errors';
import { logger } from '../logger';

/**
 * Middleware for workflow step Lambdas: logs each step's start, end and error (with the execution
 * id) and lets typed errors through untouched, because their `name` is what the workflow's Retry
 * and Catch match on. Untyped errors keep their own name and are treated as permanent.
 */
export function stepMiddleware(step: string): middy.MiddlewareObj<unknown, unknown> {
  const started = new WeakMap<object, number>();
  const executionOf = (event: unknown) =>
    (event as { execution?: { id?: unknown } } | undefined)?.execution?.id ?? 'unknown';
  return {
    before: (request) => {
      started.set(request, Date.now());
      logger.info('step started', { step, executionId: executionOf(request.event) });
    },
    after: (request) => {
      logger.info('step succeeded', {
        step,
        executionId: executionOf(request.event),
        durationMs: Date.now() - (started.get(request) ?? Date.now()),
      });
    },
    onError: (request) => {
      const error = request.error;
      logger.error('step failed', {
        step,
        executionId: executionOf(request.event),
        error:
          error instanceof TenantryError ? error.toJSON() : { name: error?.name, message: error?.message },
        retryable: error instanceof TenantryError ? error.retryable : false,
      });
    },
  };
}
