/**
 * The SQL port: everything Tenantry asks of a database, shaped so that an embedded PGlite, a
 * Postgres server (`pg`) and the RDS Data API (one HTTPS call per request) all fit behind it
 * without callers changing.
 *
 * - Parameters are positional (`$1`, `$2`, ...) and scalar: the Data API has no array parameters,
 *   so lists travel as JSON (`$1::jsonb`).
 * - `script` runs parameterless statements in order with as few round trips as the backend allows
 *   (one simple-protocol query for pg/PGlite; one call for the Data API).
 * - Errors come out as `TransientDatabaseError` (retry may help) or `DatabaseError` (it will not).
 */

export type SqlParam = string | number | boolean | null | Date | bigint;
export type SqlRow = Record<string, unknown>;

export interface SqlResult<T extends SqlRow = SqlRow> {
  readonly rows: T[];
  /** Rows returned or affected. */
  readonly rowCount: number;
}

export interface QueryOptions {
  /**
   * Keep the statement prepared under this name on each connection that runs it, where the backend
   * can (a Postgres server): for a constant statement that is run often and costly to plan, such as
   * the catalog read. PGlite and the Data API ignore it. One name, one statement text.
   */
  readonly prepare?: string;
}

export interface SqlExecutor {
  query<T extends SqlRow = SqlRow>(
    sql: string,
    params?: readonly SqlParam[],
    options?: QueryOptions,
  ): Promise<SqlResult<T>>;
}

export interface StatementFailure {
  /** Position of the failed statement in the list given. */
  readonly index: number;
  readonly code?: string;
  readonly message: string;
}

export interface SqlTransaction extends SqlExecutor {
  /** Runs parameterless statements in order; the first failure aborts the transaction. */
  script(statements: readonly string[]): Promise<void>;
  /**
   * Runs each statement in its own savepoint: a failed one is rolled back and reported, the others
   * stay. For work where one failure must not undo the rest (secondary indexes).
   */
  scriptTolerant(statements: readonly string[]): Promise<StatementFailure[]>;
  /**
   * Runs `COPY ... FROM STDIN` with `text` as its data and returns the rows loaded. Only backends
   * that speak the COPY protocol have it (pg, PGlite); callers fall back to INSERTs without it.
   */
  copyIn?(statement: string, text: string): Promise<number>;
  /** Runs `COPY ... TO STDOUT` and returns its data (pg, PGlite only, as `copyIn`). */
  copyOut?(statement: string): Promise<string>;
}

export type SqlBackend = 'pglite' | 'postgres' | 'data-api';

export interface SqlClient extends SqlExecutor {
  readonly backend: SqlBackend;
  /** The most bytes one response can carry (the RDS Data API's 1 MiB); undefined means no limit. */
  readonly maxResponseBytes?: number;
  /** Runs `fn` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
