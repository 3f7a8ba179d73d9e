import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { RETRIED_ERROR_NAMES } from '../shared/errors';

/**
 * Errors worth retrying: the catalogue's retryable errors, and the Lambda service's own throttling
 * and transient failures (RETRIED_ERROR_NAMES, shared/errors.ts, which the CLI's step view reads
 * too). Everything else is permanent and goes to Cleanup at once.
 */
export const RETRYABLE_ERRORS = [...RETRIED_ERROR_NAMES];

/**
 * A step's retry of transient faults: 2 s, doubling, at most 60 s apart, 12 attempts. With full
 * jitter a step waits about three and a half minutes in all before it gives up (under 90 s about
 * once in 300), so a database restart or failover of a minute or two is outlasted, not failed on.
 */
export const TRANSIENT_RETRY: sfn.RetryProps = {
  errors: [...RETRYABLE_ERRORS],
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 12,
  maxDelay: Duration.seconds(60),
  jitterStrategy: sfn.JitterType.FULL,
};

/**
 * Cleanup's retry: the same backoff for longer (20 attempts, about seven and a half minutes on average), as a
 * failed Cleanup leaves the tenant held. What it still cannot do is left to the lease sweep
 * (local engine) or to cancel and redrive.
 */
export const CLEANUP_RETRY: sfn.RetryProps = { ...TRANSIENT_RETRY, maxAttempts: 20 };
