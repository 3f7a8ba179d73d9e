import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PgliteClient } from '../../shared/sql/pglite';
import type { SqlClient } from '../../shared/sql/port';
import { PostgresClient } from '../../shared/sql/postgres';

/**
 * The databases every integration test runs on: embedded PGlite always, and the Postgres server
 * too when DATABASE_URL is set (as .ci/run does). Each `open()` gives a fresh, empty database:
 * PGlite in memory, or a new database on the server that `close()` drops again.
 */
export interface TestBackend {
  readonly name: 'pglite' | 'postgres';
  open(): Promise<TestDatabase>;
}

export interface TestDatabase {
  readonly db: SqlClient;
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
        connectAnother() {
          const other = new PostgresClient({ connectionString: dbUrl.toString() });
          others.push(other);
          return other;
        },
        async close() {
          await Promise.all([db, ...others].map((c) => c.close()));
          await adminQuery(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        },
      };
    },
  };
}

export function testBackends(): TestBackend[] {
  const url = serverUrl();
  return url ? [pglite, postgres(url)] : [pglite];
}
