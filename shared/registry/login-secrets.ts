import { secretsManagerSdk } from '../aws-sdk';
import { ConfigError } from '../errors';
import { traceClient } from '../observability/lambda';
import { type LoginSecret, LoginSecretSchema } from './database-users';

const { GetSecretValueCommand, SecretsManagerClient } = secretsManagerSdk();

/** Created once per process; `AWS_ENDPOINT_URL` points it at LocalStack when set. */
const client = traceClient(new SecretsManagerClient({}));

/**
 * A database login's username and password from its Secrets Manager secret (JSON with `username`
 * and `password`, as rds.DatabaseSecret makes it). Only the deploy-time setup reads one: the
 * runtime functions hand their secret's ARN to the Data API, which reads it as them. Errors name
 * the secret, never its content.
 */
export async function readLoginSecret(secretArn: string): Promise<LoginSecret> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  let value: unknown;
  try {
    value = JSON.parse(out.SecretString ?? '');
  } catch {
    throw new ConfigError(`secret ${secretArn} is not JSON with a username and a password`);
  }
  const parsed = LoginSecretSchema.safeParse(value);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
    throw new ConfigError(`secret ${secretArn} has no valid ${fields}`);
  }
  return parsed.data;
}
