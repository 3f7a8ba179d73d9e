import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { TRANSIENT_ERROR_NAMES } from '../shared/errors';

/**
 * Errors worth retrying: the catalogue's retryable errors (shared/errors.ts), and the Lambda
 * service's own throttling and transient failures. Everything else is permanent and goes to
 * Cleanup at once.
 */
export const RETRYABLE_ERRORS = [
  ...TRANSIENT_ERROR_NAMES,
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

export const TRANSIENT_RETRY: sfn.RetryProps = {
  errors: [...RETRYABLE_ERRORS],
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 5,
  maxDelay: Duration.seconds(30),
  jitterStrategy: sfn.JitterType.FULL,
};
