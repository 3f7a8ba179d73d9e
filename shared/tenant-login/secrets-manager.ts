import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { isSdkError, secretsManagerSdk } from '../aws-sdk';
import type { DatabaseEndpoint } from '../config';
import { traceClient } from '../observability/lambda';
import { secretText, type TenantLoginDetails, type TenantLoginRef, type TenantLoginSecrets } from './port';

const {
  CreateSecretCommand,
  DeleteSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient: Client,
} = secretsManagerSdk();

let shared: SecretsManagerClient | undefined;
/** Created once per process, at first use; `AWS_ENDPOINT_URL` points it at LocalStack when set. */
const sharedClient = () => {
  shared ??= traceClient(new Client({}));
  return shared;
};

/** How long CreateSecret waits for a just-deleted secret's name, try after try: 31 s in all. */
const DELETED_NAME_WAITS_MS = [1_000, 2_000, 4_000, 8_000, 16_000] as const;

/** Secrets Manager's answer while the name of a secret being deleted is not free yet. */
const isDeletedName = (error: unknown) =>
  isSdkError(error, 'InvalidRequestException') && /deletion|deleted/i.test((error as Error).message);

/** The tag every tenant login secret carries, with the tenant's id. */
export const TENANT_TAG = 'tenantry:tenant';

/**
 * The login secrets on AWS: one Secrets Manager secret per tenant, `<prefix><tenant id>/login`
 * (the prefix, `tenantry/<stack>/tenants/` by default, is the only name the functions may touch:
 * infra/constructs/database.ts `useTenantLoginSecrets`), encrypted with the account's
 * `aws/secretsmanager` key, its JSON an RDS database secret's. Errors name the secret, never its value.
 */
export class SecretsManagerTenantLoginSecrets implements TenantLoginSecrets {
  constructor(
    private readonly prefix: string,
    private readonly endpoint: DatabaseEndpoint = {},
    private readonly client: SecretsManagerClient = sharedClient(),
    /** Waits between tries while a deleted secret's name is still taken (tests pass none). */
    private readonly deletedNameWaitsMs: readonly number[] = DELETED_NAME_WAITS_MS,
  ) {}

  nameOf(login: Pick<TenantLoginRef, 'tenantId'>): string {
    return `${this.prefix}${login.tenantId}/login`;
  }

  async put(login: TenantLoginDetails, password: string): Promise<string> {
    const name = this.nameOf(login);
    const value = secretText(login, password, this.endpoint);
    const create = new CreateSecretCommand({
      Name: name,
      Description: `Tenantry: the login ${login.username} of tenant ${login.tenantId} (schema ${login.schema}, database ${login.database})`,
      SecretString: value,
      Tags: [{ Key: TENANT_TAG, Value: login.tenantId }],
    });
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.client.send(create)).ARN ?? name;
      } catch (error) {
        // A retried step, or a restore: the secret is there, it gets the new password.
        if (isSdkError(error, 'ResourceExistsException')) break;
        // Deleted a moment ago (a failed run's Cleanup, then its redrive): Secrets Manager frees
        // the name shortly after a deletion without recovery.
        const wait = this.deletedNameWaitsMs[attempt];
        if (!isDeletedName(error) || wait === undefined) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
    const put = await this.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
    return put.ARN ?? name;
  }

  async remove(login: TenantLoginRef): Promise<boolean> {
    try {
      // At once: the role it logs in as is dropped, and a restore makes a secret of the same name.
      await this.client.send(
        new DeleteSecretCommand({ SecretId: this.nameOf(login), ForceDeleteWithoutRecovery: true }),
      );
      return true;
    } catch (error) {
      if (isSdkError(error, 'ResourceNotFoundException')) return false;
      throw error;
    }
  }
}
