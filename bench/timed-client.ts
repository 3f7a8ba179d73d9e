import { performance } from 'node:perf_hooks';
import type { SqlClient, SqlParam, SqlResult, SqlRow, SqlTransaction } from '../shared/sql/port';

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
  if (/tenantry\.schema_migrations/i.test(sql)) return 'control schema check';
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

  async query<T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlParam[]): Promise<SqlResult<T>> {
    const started = performance.now();
    try {
      return await this.inner.query<T>(sql, params);
    } finally {
      this.add(labelOf(sql), performance.now() - started);
    }
  }

  async transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await this.inner.transaction(fn);
    } finally {
      this.add('transaction', performance.now() - started);
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
