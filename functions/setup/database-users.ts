import middy from '@middy/core';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { powertools } from '../../shared/observability/lambda';
import { logger } from '../../shared/observability/logger';
import {
  type DatabaseLogin,
  DatabaseUsersPropertiesSchema,
  setUpDatabaseUsers,
} from '../../shared/registry/database-users';
import { readLoginSecret } from '../../shared/registry/login-secrets';
import { DataApiClient } from '../../shared/sql/data-api';

/**
 * The deploy-time database setup (infra/constructs/database.ts), the onEvent handler of a
 * CloudFormation custom resource: on Create and Update, the reader and owner logins from their
 * secrets, set up as the master through the Data API (shared/registry/database-users.ts). Delete
 * leaves roles and data alone.
 */
export const handler = middy<
  CloudFormationCustomResourceEvent,
  { PhysicalResourceId: string; Data?: Record<string, string> }
>()
  .use(powertools())
  .handler(async (event) => {
    const props = DatabaseUsersPropertiesSchema.parse(event.ResourceProperties);
    const physicalId = `tenantry-database-users:${props.Database}`;
    if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };

    const [owner, reader] = await Promise.all([
      readLoginSecret(props.OwnerSecretArn),
      readLoginSecret(props.ReaderSecretArn),
    ]);
    const dataApi = (secretArn: string) =>
      new DataApiClient({
        resourceArn: props.ClusterArn,
        secretArn,
        database: props.Database,
        ...(process.env.AWS_ENDPOINT_URL ? { endpoint: process.env.AWS_ENDPOINT_URL } : {}),
      });
    const secretOf: Record<DatabaseLogin, string> = {
      owner: props.OwnerSecretArn,
      reader: props.ReaderSecretArn,
    };
    const master = dataApi(props.MasterSecretArn);
    try {
      const report = await setUpDatabaseUsers(master, (login) => dataApi(secretOf[login]), { owner, reader });
      logger.info('database users set up', { owner: owner.username, reader: reader.username, ...report });
      if (!report.asLogins)
        logger.warn('the Data API did not log in as the logins (an emulator?): the reader was not checked');
    } finally {
      await master.close();
    }
    return { PhysicalResourceId: physicalId, Data: { Owner: owner.username, Reader: reader.username } };
  });
