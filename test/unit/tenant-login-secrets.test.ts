import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  InvalidRequestException,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { tenantLoginConfigFromEnv } from '../../shared/config';
import { ConfigError, ValidationError } from '../../shared/errors';
import { LocalTenantLoginSecrets } from '../../shared/tenant-login/local';
import {
  newLoginPassword,
  type TenantLoginDetails,
  TenantLoginSecretSchema,
} from '../../shared/tenant-login/port';
import { SecretsManagerTenantLoginSecrets } from '../../shared/tenant-login/secrets-manager';
import { type Answer, recordRequests } from '../support/sdk-capture';
import { tempDir } from '../support/temp-dirs';

const PREFIX = 'tenantry/Tenantry/tenants/';
const ARN =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tenantry/Tenantry/tenants/acme/login-AbCdEf';
const LOGIN: TenantLoginDetails = {
  tenantId: 'acme',
  username: 'tenant_acme_login_1a2b3c4d',
  database: 'tenantry',
  schema: 'tenant_acme',
};

/** The real Secrets Manager client; every request it sends is recorded and answered by `answer`. */
function secretsManager(answer?: Answer, deletedNameWaitsMs: readonly number[] = [0, 0]) {
  const client = new SecretsManagerClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
  const sent = recordRequests(client, answer);
  const secrets = new SecretsManagerTenantLoginSecrets(
    PREFIX,
    { host: 'tenants.cluster-abc.eu-west-1.rds.amazonaws.com', port: 5432 },
    client,
    deletedNameWaitsMs,
  );
  return { secrets, sent };
}

const exception = <E extends Error>(
  Type: new (o: { message: string; $metadata: object }) => E,
  message: string,
) => new Type({ message, $metadata: {} });

describe('tenant login secrets in Secrets Manager', () => {
  it('creates one secret per tenant under the prefix: an RDS-shaped JSON, tagged with the tenant', async () => {
    const { secrets, sent } = secretsManager(() => ({ ARN, Name: `${PREFIX}acme/login` }));
    const password = newLoginPassword();
    expect(await secrets.put(LOGIN, password)).toBe(ARN);
    expect(sent.map((s) => s.target)).toEqual(['secretsmanager.CreateSecret']);
    const body = sent[0]?.body ?? {};
    expect(body).toMatchObject({
      Name: 'tenantry/Tenantry/tenants/acme/login',
      Tags: [{ Key: 'tenantry:tenant', Value: 'acme' }],
    });
    expect(body.Description).toContain('tenant_acme_login_1a2b3c4d');
    expect(body.Description).not.toContain(password);
    expect(body.KmsKeyId).toBeUndefined();
    expect(TenantLoginSecretSchema.parse(JSON.parse(String(body.SecretString)))).toEqual({
      engine: 'postgres',
      host: 'tenants.cluster-abc.eu-west-1.rds.amazonaws.com',
      port: 5432,
      username: 'tenant_acme_login_1a2b3c4d',
      password,
      dbname: 'tenantry',
      schema: 'tenant_acme',
      tenantId: 'acme',
    });
  });

  it('puts a new value into a secret that exists (a retried step, a restore), the same name', async () => {
    const { secrets, sent } = secretsManager((req) =>
      req.target === 'secretsmanager.CreateSecret'
        ? exception(
            ResourceExistsException,
            'the secret tenantry/Tenantry/tenants/acme/login already exists.',
          )
        : { ARN, Name: `${PREFIX}acme/login` },
    );
    const password = newLoginPassword();
    expect(await secrets.put(LOGIN, password)).toBe(ARN);
    expect(sent.map((s) => s.target)).toEqual([
      'secretsmanager.CreateSecret',
      'secretsmanager.PutSecretValue',
    ]);
    expect(sent[1]?.body).toMatchObject({ SecretId: 'tenantry/Tenantry/tenants/acme/login' });
    expect(JSON.parse(String(sent[1]?.body.SecretString)).password).toBe(password);
  });

  it('waits for the name of a secret deleted a moment ago (a Cleanup, then a redrive), a few times', async () => {
    const deleting = () =>
      exception(
        InvalidRequestException,
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
      );
    const soon = secretsManager((req) =>
      req.target === 'secretsmanager.CreateSecret' && soon.sent.length < 3 ? deleting() : { ARN },
    );
    expect(await soon.secrets.put(LOGIN, newLoginPassword())).toBe(ARN);
    expect(soon.sent.map((s) => s.target)).toEqual(Array(3).fill('secretsmanager.CreateSecret'));
    const never = secretsManager(() => deleting());
    await expect(never.secrets.put(LOGIN, newLoginPassword())).rejects.toMatchObject({
      name: 'InvalidRequestException',
    });
    expect(never.sent).toHaveLength(3);
  });

  it('passes any other error on, without the password in it', async () => {
    // As the SDK throws an error the service names and the client has no class for.
    const { secrets } = secretsManager(() =>
      Object.assign(new Error('not authorized to perform: secretsmanager:CreateSecret'), {
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const password = newLoginPassword();
    const error = (await secrets.put(LOGIN, password).then(
      () => new Error('no error'),
      (e: unknown) => e,
    )) as Error;
    expect(error).toMatchObject({ name: 'AccessDeniedException' });
    expect(`${error.message} ${error.stack}`).not.toContain(password);
  });

  it('deletes a secret at once, without a recovery window; a missing one is not an error', async () => {
    // The first delete finds it; the second does not.
    const { secrets, sent } = secretsManager(() =>
      sent.length > 1
        ? exception(ResourceNotFoundException, "Secrets Manager can't find the specified secret.")
        : {},
    );
    expect(await secrets.remove(LOGIN)).toBe(true);
    expect(sent[0]).toMatchObject({
      target: 'secretsmanager.DeleteSecret',
      body: { SecretId: 'tenantry/Tenantry/tenants/acme/login', ForceDeleteWithoutRecovery: true },
    });
    expect(await secrets.remove(LOGIN)).toBe(false);
  });
});

describe('tenant login secrets in a local folder', () => {
  it('writes a file per login, mode 0600 in a folder of mode 0700, and replaces it atomically', async () => {
    const dir = join(tempDir('tenantry-login-unit-'), 'secrets');
    const secrets = new LocalTenantLoginSecrets(dir, { host: '127.0.0.1', port: 5432 });
    const first = newLoginPassword();
    const path = await secrets.put(LOGIN, first);
    expect(path).toBe(join(dir, 'tenant_acme_login_1a2b3c4d.json'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const second = newLoginPassword();
    expect(second).not.toBe(first);
    expect(await secrets.put(LOGIN, second)).toBe(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(TenantLoginSecretSchema.parse(JSON.parse(readFileSync(path, 'utf8')))).toMatchObject({
      host: '127.0.0.1',
      port: 5432,
      username: LOGIN.username,
      password: second,
    });
    expect(await secrets.remove(LOGIN)).toBe(true);
    expect(await secrets.remove(LOGIN)).toBe(false);
  });

  it('names files after login roles only: nothing can leave the folder', async () => {
    const dir = tempDir('tenantry-login-unit-');
    mkdirSync(join(dir, 'secrets'));
    const secrets = new LocalTenantLoginSecrets(join(dir, 'secrets'));
    for (const username of ['../escape', 'a/b', 'Upper', '']) {
      await expect(secrets.put({ ...LOGIN, username }, newLoginPassword())).rejects.toBeInstanceOf(
        ValidationError,
      );
      await expect(secrets.remove({ tenantId: 'acme', username })).rejects.toBeInstanceOf(ValidationError);
    }
  });
});

describe('where tenant login secrets go', () => {
  it('Secrets Manager under the prefix infra sets, with the endpoint it knows', () => {
    expect(
      tenantLoginConfigFromEnv({
        TENANTRY_TENANT_LOGIN_SECRET_PREFIX: PREFIX,
        TENANTRY_TENANT_LOGIN_HOST: 'db.example',
        TENANTRY_TENANT_LOGIN_PORT: '5433',
        AWS_LAMBDA_FUNCTION_NAME: 'fn',
      }),
    ).toEqual({ kind: 'secrets-manager', prefix: PREFIX, host: 'db.example', port: 5433 });
  });

  it('a folder locally, TENANTRY_SECRETS_DIR or .tenantry/secrets, with the host and port of DATABASE_URL', () => {
    expect(
      tenantLoginConfigFromEnv({
        TENANTRY_SECRETS_DIR: '/tmp/s',
        DATABASE_URL: 'postgres://postgres@db.local:6543/app',
      }),
    ).toEqual({ kind: 'folder', dir: '/tmp/s', host: 'db.local', port: 6543 });
    expect(tenantLoginConfigFromEnv({})).toEqual({
      kind: 'folder',
      dir: join(process.cwd(), '.tenantry', 'secrets'),
    });
  });

  it('refuses a Lambda without the prefix (not granted the secrets) and a prefix that is no secret name', () => {
    expect(() => tenantLoginConfigFromEnv({ AWS_LAMBDA_FUNCTION_NAME: 'fn' })).toThrow(ConfigError);
    expect(() => tenantLoginConfigFromEnv({ TENANTRY_TENANT_LOGIN_SECRET_PREFIX: 'a b' })).toThrow(
      ConfigError,
    );
  });
});
