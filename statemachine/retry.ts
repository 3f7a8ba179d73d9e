import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/**
 * Errors worth retrying: our own transient database faults, and the Lambda service's own
 * throttling and transient failures. Everything else is permanent and goes to Cleanup at once.
 * Kept in sync with `TRANSIENT_ERROR_NAMES` in shared/errors.ts by a unit test.
 */
export const RETRYABLE_ERRORS = [
  'TransientDatabaseError',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

export const TRANSIENT_RETRY: sfn.RetryProps = {
  errors: [...RETRYABLE_ERRORS],
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 5,
  maxDelay: Duration.seconds(30),
  jitterStrategy: sfn.JitterType.FULL,
};
