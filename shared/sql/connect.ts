import type { DatabaseConfig } from '../config';
import type { SqlClient } from './port';

/** Opens the adapter the configuration names. Adapters load on demand, so a bundle carries only the one it uses. */
export async function openDatabase(config: DatabaseConfig): Promise<SqlClient> {
  switch (config.kind) {
    case 'pglite': {
      const { PgliteClient } = await import('./pglite');
      return PgliteClient.open(config.dataDir ? { dataDir: config.dataDir } : {});
    }
    case 'postgres': {
      const { PostgresClient } = await import('./postgres');
      return new PostgresClient({ connectionString: config.url });
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
