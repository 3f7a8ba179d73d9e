import { createRequire } from 'node:module';
import type * as EventBridge from '@aws-sdk/client-eventbridge';
import type * as RdsData from '@aws-sdk/client-rds-data';
import type * as S3 from '@aws-sdk/client-s3';
import type * as Scheduler from '@aws-sdk/client-scheduler';
import type * as SecretsManager from '@aws-sdk/client-secrets-manager';
import type * as Sfn from '@aws-sdk/client-sfn';

/**
 * The AWS SDK v3 clients Tenantry uses, loaded with `require`. Each client package ships two
 * builds: `import` picks its ESM build, hundreds of small modules, while `require` loads its
 * CommonJS build, a handful of files. A cold start does 30% fewer instructions to load the Data
 * API client this way and 45% fewer for S3 (bench/results/README.md, "Cold import"). On Lambda the
 * packages come from the runtime (NODE_PATH), as they do for any CommonJS handler.
 *
 * Each loader is called at module scope by the one adapter that needs it, so a bundle loads only
 * the clients its handler uses. Errors are recognised by their `name`, never with `instanceof`,
 * which would depend on which build created them.
 */
const load = createRequire(import.meta.url);

export const rdsDataSdk = (): typeof RdsData => load('@aws-sdk/client-rds-data');
export const s3Sdk = (): typeof S3 => load('@aws-sdk/client-s3');
export const sfnSdk = (): typeof Sfn => load('@aws-sdk/client-sfn');
export const eventBridgeSdk = (): typeof EventBridge => load('@aws-sdk/client-eventbridge');
export const schedulerSdk = (): typeof Scheduler => load('@aws-sdk/client-scheduler');
export const secretsManagerSdk = (): typeof SecretsManager => load('@aws-sdk/client-secrets-manager');

/** Whether an error from an SDK client is the service's exception of that name. */
export function isSdkError(error: unknown, name: string): boolean {
  return error instanceof Error && error.name === name;
}
