import type { RDSDataClient, RDSDataClientConfig } from '@aws-sdk/client-rds-data';
import { rdsDataSdk } from '../aws-sdk';
import { TransientDatabaseError } from '../errors';
import { traceClient } from '../observability/lambda';
import { putMetric } from '../observability/metrics';
import {
  mapDataApiError,
  recordsToRows,
  scriptStatement,
  TOLERANT_FAILURES_SETTING,
  toleratingStatement,
  toNamedStatement,
} from './data-api-wire';
import type { SqlClient, SqlParam, SqlResult, SqlRow, SqlTransaction, StatementFailure } from './port';

const {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  RDSDataClient: RdsData,
  RollbackTransactionCommand,
} = rdsDataSdk();

export interface DataApiClientOptions {
  /** The Aurora cluster's ARN (the Data API's `resourceArn`). */
  readonly resourceArn: string;
  /** The Secrets Manager secret with the database credentials. */
  readonly secretArn: string;
  readonly database: string;
  /** e.g. LocalStack or the test server; omitted means the regional AWS endpoint. */
  readonly endpoint?: string;
  /** @default AWS_REGION, else us-east-1 */
  readonly region?: string;
  readonly credentials?: RDSDataClientConfig['credentials'];
  /** Give up on one HTTPS call after this long (the service itself stops waiting at 45 s). @default 60000 */
  readonly requestTimeoutMs?: number;
  /** The service's response size limit. @default 1 MiB */
  readonly maxResponseBytes?: number;
}

/**
 * The typed error of a failed call. A failure of the service, the network or the cluster (a
 * transient fault, or an error without a SQLSTATE) is counted as `DataApiErrors`, which the
 * monitoring alarms on; an error of the statement itself (a constraint, a control function's
 * refusal) is the caller's to handle and is not.
 */
function failed(error: unknown): Error {
  const mapped = mapDataApiError(error);
  if (mapped instanceof TransientDatabaseError || !mapped.code)
    putMetric('DataApiErrors', { error: mapped.name });
  return mapped;
}

/**
 * The SQL port over the RDS Data API: every statement is one HTTPS call (ExecuteStatement), a
 * transaction is BeginTransaction ... CommitTransaction/RollbackTransaction.
 *
 * - The SDK's own retries are off (maxAttempts 1): a statement whose response was lost may have
 *   run, and only the workflow knows whether repeating it is safe (every step is idempotent).
 * - Every statement runs with continueAfterTimeout: the steps run DDL, and DDL cut off halfway is
 *   worse than DDL that finishes after the caller stopped waiting.
 * - Results come back as the other adapters give them (int8 → number when exact, else string;
 *   numeric → string; date → 'YYYY-MM-DD'; timestamptz → Date; json/jsonb → parsed).
 */
export class DataApiClient implements SqlClient {
  readonly backend = 'data-api' as const;
  readonly maxResponseBytes: number;
  private readonly client: RDSDataClient;

  constructor(private readonly options: DataApiClientOptions) {
    this.maxResponseBytes = options.maxResponseBytes ?? 1024 * 1024;
    this.client = traceClient(
      new RdsData({
        region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
        maxAttempts: 1,
        requestHandler: { requestTimeout: options.requestTimeoutMs ?? 60_000 },
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
      }),
    );
  }

  /** One ExecuteStatement call. */
  async execute<T extends SqlRow>(
    sql: string,
    params: readonly SqlParam[] | undefined,
    transactionId?: string,
  ): Promise<SqlResult<T>> {
    const statement = toNamedStatement(sql, params);
    try {
      const out = await this.client.send(
        new ExecuteStatementCommand({
          resourceArn: this.options.resourceArn,
          secretArn: this.options.secretArn,
          database: this.options.database,
          sql: statement.sql,
          ...(statement.parameters.length > 0 ? { parameters: statement.parameters } : {}),
          ...(transactionId ? { transactionId } : {}),
          includeResultMetadata: true,
          continueAfterTimeout: true,
          resultSetOptions: { decimalReturnType: 'STRING', longReturnType: 'STRING' },
        }),
      );
      const rows = recordsToRows(out.records, out.columnMetadata) as T[];
      return { rows, rowCount: rows.length || (out.numberOfRecordsUpdated ?? 0) };
    } catch (error) {
      throw failed(error);
    }
  }

  query<T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlParam[]): Promise<SqlResult<T>> {
    return this.execute<T>(sql, params);
  }

  async transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    const arns = { resourceArn: this.options.resourceArn, secretArn: this.options.secretArn };
    let transactionId: string;
    try {
      const begun = await this.client.send(
        new BeginTransactionCommand({ ...arns, database: this.options.database }),
      );
      if (!begun.transactionId) throw new Error('BeginTransaction returned no transactionId');
      transactionId = begun.transactionId;
    } catch (error) {
      throw failed(error);
    }
    let result: T;
    try {
      result = await fn(this.transactionOf(transactionId));
    } catch (error) {
      try {
        await this.client.send(new RollbackTransactionCommand({ ...arns, transactionId }));
      } catch {
        // The transaction is gone either way: the service rolls back what it cannot finish.
      }
      // Driver errors were mapped where they happened; the caller's own pass through unchanged.
      throw error;
    }
    try {
      await this.client.send(new CommitTransactionCommand({ ...arns, transactionId }));
    } catch (error) {
      throw failed(error);
    }
    return result;
  }

  private transactionOf(transactionId: string): SqlTransaction {
    return {
      query: (sql, params) => this.execute(sql, params, transactionId),
      script: async (statements) => {
        const list = statements.filter((s) => s.trim() !== '');
        if (list.length === 0) return;
        await this.execute(scriptStatement(list), undefined, transactionId);
      },
      scriptTolerant: async (statements) => {
        const list = statements.map((sql, index) => ({ sql, index })).filter((s) => s.sql.trim() !== '');
        if (list.length === 0) return [];
        await this.execute(toleratingStatement(list.map((s) => s.sql)), undefined, transactionId);
        const { rows } = await this.execute<{ failures: string | null }>(
          `SELECT current_setting('${TOLERANT_FAILURES_SETTING}', true) AS failures`,
          undefined,
          transactionId,
        );
        const raw = JSON.parse(rows[0]?.failures || '[]') as {
          index: number;
          code: string;
          message: string;
        }[];
        return raw.map(
          (f): StatementFailure => ({
            index: list[f.index]?.index ?? f.index,
            code: f.code,
            message: f.message,
          }),
        );
      },
    };
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
