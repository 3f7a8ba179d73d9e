import type { DatabaseConfig } from '../config';
import { ConfigError } from '../errors';
import type { SqlClient } from './port';

/**
 * The Lambda bundles define `process.env.TENANTRY_BUNDLE` as 'lambda' (infra/constructs/
 * tenantry-function.ts): the branches below that load PGlite and pg are then dead code, and the
 * bundler leaves those adapters out (the test must stay inline for that). Lambda only ever reaches
 * the database through the Data API.
 */
/** Opens the adapter the configuration names. Adapters load on demand, so a bundle carries only the one it uses. */
export async function openDatabase(config: DatabaseConfig): Promise<SqlClient> {
  switch (config.kind) {
    case 'pglite': {
      if (process.env.TENANTRY_BUNDLE !== 'lambda') {
        const { PgliteClient } = await import('./pglite');
        return PgliteClient.open(config.dataDir ? { dataDir: config.dataDir } : {});
      }
      throw new ConfigError('this Lambda bundle reaches the database through the Data API only');
    }
    case 'postgres': {
      if (process.env.TENANTRY_BUNDLE !== 'lambda') {
        const { PostgresClient } = await import('./postgres');
        return new PostgresClient({ connectionString: config.url });
      }
      throw new ConfigError('this Lambda bundle reaches the database through the Data API only');
    }
    case 'data-api': {
      const { DataApiClient } = await import('./data-api');
      return new DataApiClient({
        resourceArn: config.clusterArn,
        secretArn: config.secretArn,
        database: config.database,
        ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      });
    }
  }
}
