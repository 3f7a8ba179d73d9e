import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { dropLeftoverTenantRolesSql } from '../../shared/registry/leftover-roles';
import { DataApiClient } from '../../shared/sql/data-api';
import { PgliteClient } from '../../shared/sql/pglite';
import type { SqlClient } from '../../shared/sql/port';
import { PostgresClient } from '../../shared/sql/postgres';
import { DataApiServer, type DataApiServerOptions } from './data-api-server';

/**
 * The databases every integration test runs on: embedded PGlite always, and the Postgres server
 * too when DATABASE_URL is set (as .ci/run does), and the RDS Data API adapter through the test
 * server (test/support/data-api-server.ts) over the server database when there is one, else over
 * PGlite. Each `open()` gives a fresh, empty database: PGlite in memory, or a new database on the
 * server that `close()` drops again.
 */
export interface TestBackend {
  readonly name: 'pglite' | 'postgres' | 'data-api';
  open(): Promise<TestDatabase>;
}

export interface TestDatabase {
  readonly db: SqlClient;
  /** The Data API double behind `db`, on the data-api backend. */
  readonly dataApi?: DataApiServer;
  /** The database's connection URL, on the postgres backend (for tools such as psql). */
  readonly url?: string;
  /** A second, independent client on the same database (another "process"), when the backend has one. */
  connectAnother?(): SqlClient;
  close(): Promise<void>;
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Drops a test database, then the tenant roles its tenants left. */
async function dropDatabase(url: string, name: string): Promise<void> {
  await adminQuery(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await adminQuery(url, dropLeftoverTenantRolesSql(name));
}

export function serverUrl(): string | undefined {
  return process.env.DATABASE_URL || undefined;
}

const pglite: TestBackend = {
  name: 'pglite',
  async open() {
    const db = await PgliteClient.open();
    return { db, close: () => db.close() };
  },
};

function postgres(url: string): TestBackend {
  return {
    name: 'postgres',
    async open() {
      const name = `tenantry_test_${process.pid}_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
      await adminQuery(url, `CREATE DATABASE ${name}`);
      const dbUrl = new URL(url);
      dbUrl.pathname = `/${name}`;
      const others: SqlClient[] = [];
      const db = new PostgresClient({ connectionString: dbUrl.toString(), maxConnections: 8 });
      return {
        db,
        url: dbUrl.toString(),
        connectAnother() {
          const other = new PostgresClient({ connectionString: dbUrl.toString() });
          others.push(other);
          return other;
        },
        async close() {
          await Promise.all([db, ...others].map((c) => c.close()));
          await dropDatabase(url, name);
        },
      };
    },
  };
}

export async function freshServerDatabase(
  url: string,
): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `tenantry_test_${process.pid}_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  await adminQuery(url, `CREATE DATABASE ${name}`);
  const dbUrl = new URL(url);
  dbUrl.pathname = `/${name}`;
  return {
    name,
    url: dbUrl.toString(),
    drop: () => dropDatabase(url, name),
  };
}

export const TEST_CLUSTER_ARN = 'arn:aws:rds:us-east-1:000000000000:cluster:tenantry-test';
export const TEST_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:tenantry-test-AbCdEf';

/** The real Data API client, pointed at the test server with dummy credentials. */
export function dataApiClientFor(server: DataApiServer, database = 'tenantry'): DataApiClient {
  return new DataApiClient({
    resourceArn: TEST_CLUSTER_ARN,
    secretArn: TEST_SECRET_ARN,
    database,
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}

/** A Data API test server over a fresh database: the Postgres server's when `url` is given, else PGlite's. */
export async function openDataApi(
  url: string | undefined,
  options: Pick<
    DataApiServerOptions,
    'transactionIdleTimeoutMs' | 'statementTimeoutMs' | 'maxResponseBytes'
  > = {},
) {
  const fresh = url ? await freshServerDatabase(url) : undefined;
  const server = await DataApiServer.start({
    ...options,
    backend: fresh ? { kind: 'postgres', connectionString: fresh.url } : { kind: 'pglite' },
  });
  const database = fresh?.name ?? 'postgres';
  const clients: DataApiClient[] = [];
  const connect = () => {
    const client = dataApiClientFor(server, database);
    clients.push(client);
    return client;
  };
  return {
    server,
    database,
    connect,
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await server.stop();
      await fresh?.drop();
    },
  };
}

function dataApi(url: string | undefined): TestBackend {
  return {
    name: 'data-api',
    async open() {
      const opened = await openDataApi(url);
      const db = opened.connect();
      return {
        db,
        dataApi: opened.server,
        // Over PGlite there is one session: a second client would only queue behind the first.
        ...(url ? { connectAnother: () => opened.connect() } : {}),
        close: () => opened.close(),
      };
    },
  };
}

export function testBackends(): TestBackend[] {
  const url = serverUrl();
  return url ? [pglite, postgres(url), dataApi(url)] : [pglite, dataApi(undefined)];
}
