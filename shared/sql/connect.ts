import type { DatabaseConfig } from '../config';
import { ConfigError } from '../errors';
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
    case 'data-api':
      throw new ConfigError('the RDS Data API adapter is not available in this build');
  }
}
