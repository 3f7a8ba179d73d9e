import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { ConfigError } from '../errors';
import { toDatabaseError } from './errors';
import type {
  QueryOptions,
  SqlClient,
  SqlExecutor,
  SqlParam,
  SqlResult,
  SqlRow,
  SqlTransaction,
  StatementFailure,
} from './port';
import { PG_OID, parseDate, parseInt8 } from './types';

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === PG_OID.INT8) return parseInt8;
    if (oid === PG_OID.DATE) return parseDate;
    // biome-ignore lint/suspicious/noExplicitAny: pg's overloads do not accept a union format
    return pg.types.getTypeParser(oid, format as any);
  },
};

type Queryable = Pick<pg.Pool | pg.PoolClient | pg.Client, 'query'>;

async function run<T extends SqlRow>(
  db: Queryable,
  sql: string,
  params?: readonly SqlParam[],
  options?: QueryOptions,
): Promise<SqlResult<T>> {
  try {
    const result = await db.query<T>({
      text: sql,
      values: params ? [...params] : [],
      types,
      ...(options?.prepare ? { name: options.prepare } : {}),
    });
    return { rows: result.rows ?? [], rowCount: result.rows?.length || (result.rowCount ?? 0) };
  } catch (error) {
    throw toDatabaseError(error);
  }
}

function transactionOf(client: pg.PoolClient): SqlTransaction {
  let savepoints = 0;
  return {
    query: (sql, params, options) => run(client, sql, params, options),
    async script(statements) {
      if (statements.length === 0) return;
      // No parameters: pg uses the simple query protocol, so this is one round trip.
      try {
        await client.query(statements.join(';\n'));
      } catch (error) {
        throw toDatabaseError(error);
      }
    },
    async scriptTolerant(statements) {
      const failures: StatementFailure[] = [];
      for (const [index, statement] of statements.entries()) {
        const sp = `tenantry_sp_${++savepoints}`;
        try {
          await client.query(`SAVEPOINT ${sp};\n${statement};\nRELEASE SAVEPOINT ${sp}`);
        } catch (error) {
          await run(client, `ROLLBACK TO SAVEPOINT ${sp}`);
          const mapped = toDatabaseError(error);
          failures.push({ index, code: mapped.code, message: mapped.message });
        }
      }
      return failures;
    },
    async copyIn(statement, text) {
      try {
        const sink = client.query(copyFrom(statement));
        await pipeline(Readable.from([Buffer.from(text)]), sink);
        return Number(sink.rowCount ?? 0);
      } catch (error) {
        throw toDatabaseError(error);
      }
    },
    async copyOut(statement) {
      try {
        const chunks: Buffer[] = [];
        for await (const chunk of client.query(copyTo(statement))) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks).toString('utf8');
      } catch (error) {
        throw toDatabaseError(error);
      }
    },
  };
}

async function transactionOn<T>(pool: pg.Pool, fn: (tx: SqlTransaction) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw toDatabaseError(error);
  }
  let broken = false;
  try {
    await run(client, 'BEGIN');
    const result = await fn(transactionOf(client));
    await run(client, 'COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true;
    }
    // Driver errors were mapped where they happened (run); the caller's own pass through unchanged.
    throw error;
  } finally {
    client.release(broken);
  }
}

export interface PostgresClientOptions {
  readonly connectionString: string;
  /** @default 5 */
  readonly maxConnections?: number;
  readonly applicationName?: string;
  /**
   * A role every connection takes from its start (the `role` setting in its startup packet, as
   * `SET ROLE` would: the pool is this role's alone), e.g. the control schema's read-only role. A
   * connection that cannot take it fails; it never goes on as the login role. @default - the login role
   */
  readonly role?: string;
}

/** A Postgres server through node-postgres: the DATABASE_URL backend. */
export class PostgresClient implements SqlClient {
  readonly backend = 'postgres' as const;
  private readonly pool: pg.Pool;

  constructor(private readonly options: PostgresClientOptions) {
    const { role } = options;
    if (role !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(role))
      throw new ConfigError(`'${role}' is not a role name this client takes (lower-case letters, digits, _)`);
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 5,
      application_name: options.applicationName ?? 'tenantry',
      ...(role ? { options: `-c role=${role}` } : {}),
    });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.pool.on('error', () => {});
  }

  /** Another client of the same server whose connections act as `role` (a pool of their own). */
  asRole(role: string, applicationName = `tenantry-${role}`): PostgresClient {
    return new PostgresClient({ ...this.options, role, applicationName });
  }

  query<T extends SqlRow = SqlRow>(
    sql: string,
    params?: readonly SqlParam[],
    options?: QueryOptions,
  ): Promise<SqlResult<T>> {
    return run<T>(this.pool, sql, params, options);
  }

  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    return transactionOn(this.pool, fn);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * Queries on one connection (or pool) someone else opened and ends, with the same type parsers and
 * errors as PostgresClient: for a statement inside a transaction that connection began itself.
 */
export function sqlExecutorOf(db: Queryable): SqlExecutor {
  return { query: (sql, params, options) => run(db, sql, params, options) };
}

/**
 * A SqlClient over a pg.Pool the application already has (its own settings, its own login): the
 * same queries and transactions as PostgresClient. `close()` leaves the pool open: it is the
 * application's to end.
 */
export function sqlClientOfPool(pool: pg.Pool): SqlClient {
  return {
    backend: 'postgres',
    query: (sql, params, options) => run(pool, sql, params, options),
    transaction: (fn) => transactionOn(pool, fn),
    close: async () => {},
  };
}
