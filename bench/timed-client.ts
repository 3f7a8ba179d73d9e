import { performance } from 'node:perf_hooks';
import type {
  QueryOptions,
  SqlClient,
  SqlParam,
  SqlResult,
  SqlRow,
  SqlTransaction,
  StatementFailure,
} from '../shared/sql/port';

export interface QueryTime {
  calls: number;
  ms: number;
}

/** What a statement is, for the profile: the control function it calls, or the store it writes. */
export function labelOf(sql: string): string {
  const control = /\bSELECT\s+tenantry\.(\w+)\s*\(/i.exec(sql);
  if (control?.[1]) return `tenantry.${control[1]}()`;
  if (/tenantry\.execution_events/i.test(sql)) return 'history write (execution_events)';
  if (/tenantry\.executions/i.test(sql)) return 'execution row (executions)';
  if (/tenantry\.execution_leases/i.test(sql)) return 'lease (execution_leases)';
  if (/tenantry\.schema_migrations/i.test(sql)) return 'control schema check';
  if (/\._tenantry_migrations\b/i.test(sql)) return 'tenant ledger read (_tenantry_migrations)';
  if (/\bFROM\s+tenantry\.tenants\b/i.test(sql)) return 'registry read (tenants)';
  if (/^\s*SELECT\s+set_config\(/i.test(sql)) return 'settings (set_config)';
  // Verify's catalog read: the only statement of a run that reads the system catalogs itself.
  if (/\bpg_(namespace|class|attribute|depend)\b/i.test(sql)) return 'catalog read (Verify)';
  return 'other';
}

/**
 * A SqlClient that passes everything to another and adds each statement's wall time (client side:
 * round trip included) to the bucket that is current. Runs are sequential, so one bucket per run
 * attributes every statement to the tenant that issued it.
 */
export class TimedClient implements SqlClient {
  private bucket = new Map<string, QueryTime>();

  constructor(private readonly inner: SqlClient) {}

  get backend() {
    return this.inner.backend;
  }

  /** Starts a new bucket and returns the previous one. */
  take(): Map<string, QueryTime> {
    const previous = this.bucket;
    this.bucket = new Map();
    return previous;
  }

  private add(label: string, ms: number): void {
    const entry = this.bucket.get(label) ?? { calls: 0, ms: 0 };
    entry.calls += 1;
    entry.ms += ms;
    this.bucket.set(label, entry);
  }

  async query<T extends SqlRow = SqlRow>(
    sql: string,
    params?: readonly SqlParam[],
    options?: QueryOptions,
  ): Promise<SqlResult<T>> {
    const started = performance.now();
    try {
      return await this.inner.query<T>(sql, params, options);
    } finally {
      this.add(labelOf(sql), performance.now() - started);
    }
  }

  /** The whole transaction is one entry; each statement in it is another, labelled `in a transaction: ...`. */
  async transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await this.inner.transaction((tx) => fn(this.timedTransaction(tx)));
    } finally {
      this.add('transaction', performance.now() - started);
    }
  }

  private timedTransaction(tx: SqlTransaction): SqlTransaction {
    const timed = async <R>(label: string, run: () => Promise<R>): Promise<R> => {
      const started = performance.now();
      try {
        return await run();
      } finally {
        this.add(`in a transaction: ${label}`, performance.now() - started);
      }
    };
    const copyIn = tx.copyIn?.bind(tx);
    const copyOut = tx.copyOut?.bind(tx);
    return {
      query: <T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlParam[], options?: QueryOptions) =>
        timed(labelOf(sql), () => tx.query<T>(sql, params, options)),
      script: (statements: readonly string[]) => timed('script', () => tx.script(statements)),
      scriptTolerant: (statements: readonly string[]): Promise<StatementFailure[]> =>
        timed('script', () => tx.scriptTolerant(statements)),
      ...(copyIn
        ? { copyIn: (statement: string, text: string) => timed('COPY', () => copyIn(statement, text)) }
        : {}),
      ...(copyOut ? { copyOut: (statement: string) => timed('COPY', () => copyOut(statement)) } : {}),
    };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
