import type { ColumnMetadata, Field, SqlParameter } from '@aws-sdk/client-rds-data';
import { DatabaseError, TransientDatabaseError } from '../errors';
import { isTransientSqlState, toDatabaseError } from './errors';
import type { SqlParam, SqlRow } from './port';
import { scanCode } from './split';
import { parseInt8 } from './types';

/**
 * The RDS Data API's wire conventions, as pure functions: positional `$n` parameters to named
 * `:pn` ones with typed values, typed result fields back to the values the other adapters give,
 * scripts as one statement, and the service's errors to the port's two error types.
 */

export type TypeHint = 'DATE' | 'DECIMAL' | 'JSON' | 'TIME' | 'TIMESTAMP' | 'UUID';

/** A Date as the Data API's TIMESTAMP text, in UTC (Data API sessions run in UTC). */
export function formatTimestamp(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

/** One port parameter as a Data API typed value. */
export function toSqlParameter(name: string, value: SqlParam): SqlParameter {
  if (value === null || value === undefined) return { name, value: { isNull: true } };
  switch (typeof value) {
    case 'boolean':
      return { name, value: { booleanValue: value } };
    case 'number':
      return Number.isSafeInteger(value)
        ? { name, value: { longValue: value } }
        : { name, value: { doubleValue: value } };
    case 'bigint':
      // longValue travels as a JSON number: beyond 2^53 it would lose digits, so send the decimal text.
      return Number.isSafeInteger(Number(value))
        ? { name, value: { longValue: Number(value) } }
        : { name, value: { stringValue: value.toString() }, typeHint: 'DECIMAL' };
    case 'string':
      return { name, value: { stringValue: value } };
    default:
      if (value instanceof Date) {
        return { name, value: { stringValue: formatTimestamp(value) }, typeHint: 'TIMESTAMP' };
      }
      throw new DatabaseError(`unsupported parameter type: ${Object.prototype.toString.call(value)}`);
  }
}

/**
 * `$1`, `$2`, ... become `:p1`, `:p2`, ... (the Data API only knows named parameters); literals,
 * quoted identifiers, dollar-quoted bodies and comments are left alone. Only referenced
 * parameters are sent.
 */
export function toNamedStatement(
  sql: string,
  params: readonly SqlParam[] = [],
): { sql: string; parameters: SqlParameter[] } {
  let out = '';
  let last = 0;
  const used = new Set<number>();
  scanCode(sql, (i) => {
    if (sql[i] !== '$') return undefined;
    const m = /^\$(\d+)/.exec(sql.slice(i, i + 12));
    if (!m?.[1]) return undefined;
    const n = Number(m[1]);
    if (n < 1 || n > params.length) throw new DatabaseError(`there is no parameter $${n}`, '42P02');
    used.add(n);
    out += `${sql.slice(last, i)}:p${n}`;
    last = i + m[0].length;
    return last;
  });
  out += sql.slice(last);
  const parameters = [...used]
    .sort((a, b) => a - b)
    .map((n) => toSqlParameter(`p${n}`, params[n - 1] ?? null));
  return { sql: out, parameters };
}

/** A dollar-quote tag (`$name$`) that occurs in none of the texts. */
export function dollarTag(texts: readonly string[], base: string): string {
  for (let n = 0; ; n++) {
    const tag = `$${base}${n === 0 ? '' : n}$`;
    if (!texts.some((t) => t.includes(tag))) return tag;
  }
}

/**
 * Statements as ONE statement, for a service that takes one per call: an anonymous PL/pgSQL block
 * that EXECUTEs each in order. Each statement is a dollar-quoted literal whose tag occurs in none of
 * them, so their own quoting needs no escaping. The first failure aborts the block with its own
 * SQLSTATE and message.
 */
export function scriptStatement(statements: readonly string[]): string {
  const inner = dollarTag(statements, 'tenantry_s');
  const outer = dollarTag([...statements, inner], 'tenantry_do');
  const body = statements.map((s) => `EXECUTE ${inner}${s}${inner};`).join('\n');
  return `DO ${outer}\nBEGIN\n${body}\nEND\n${outer}`;
}

/** Where `toleratingStatement` leaves its failures: a transaction-local setting, read back by one SELECT. */
export const TOLERANT_FAILURES_SETTING = 'tenantry.script_failures';

/**
 * Each statement in its own subtransaction (a BEGIN ... EXCEPTION block, i.e. a savepoint): a failure
 * is rolled back and recorded, the others stay. The failures are left as JSON in a transaction-local
 * setting for `SELECT current_setting(...)` to read: two calls whatever the number of statements.
 */
export function toleratingStatement(statements: readonly string[]): string {
  const inner = dollarTag(statements, 'tenantry_s');
  const outer = dollarTag([...statements, inner], 'tenantry_do');
  const body = statements
    .map(
      (s, index) =>
        `BEGIN EXECUTE ${inner}${s}${inner}; EXCEPTION WHEN OTHERS THEN ` +
        `f := f || jsonb_build_object('index', ${index}, 'code', SQLSTATE, 'message', SQLERRM); END;`,
    )
    .join('\n');
  return (
    `DO ${outer}\nDECLARE f jsonb := '[]'::jsonb;\nBEGIN\n${body}\n` +
    `PERFORM set_config('${TOLERANT_FAILURES_SETTING}', f::text, true);\nEND\n${outer}`
  );
}

const INTEGER_TYPES = new Set(['int2', 'int4', 'oid', 'serial', 'smallserial', 'xid', 'cid']);
const INT8_TYPES = new Set(['int8', 'bigserial']);
const FLOAT_TYPES = new Set(['float4', 'float8']);

/** 'YYYY-MM-DD HH:MM:SS[.ffffff]' (UTC, as the Data API prints timestamps) as a Date. */
export function parseTimestamp(text: string): Date {
  const m = /^(\d{4,})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d(?::?\d\d)?)?$/.exec(
    text.trim(),
  );
  if (!m) return new Date(text);
  const zone = m[8] && m[8] !== 'Z' ? (m[8].length === 3 ? `${m[8]}:00` : m[8]) : 'Z';
  const fraction = m[7] ? m[7].slice(0, 4).padEnd(4, '0') : '';
  return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${fraction}${zone}`);
}

/** A scalar field's value as the other adapters give it, by the column's Postgres type name. */
function fromScalar(field: Field | undefined, typeName: string): unknown {
  if (!field || field.isNull) return null;
  if (field.booleanValue !== undefined) return field.booleanValue;
  if (field.longValue !== undefined) return field.longValue;
  if (field.doubleValue !== undefined) {
    return typeName === 'numeric' ? String(field.doubleValue) : field.doubleValue;
  }
  if (field.blobValue !== undefined) return Buffer.from(field.blobValue);
  if (field.arrayValue !== undefined) return fromArray(field.arrayValue, typeName.replace(/^_/, ''));
  const text = field.stringValue;
  if (text === undefined) return null;
  return fromText(text, typeName);
}

function fromText(text: string, typeName: string): unknown {
  if (INT8_TYPES.has(typeName)) return parseInt8(text);
  if (INTEGER_TYPES.has(typeName) || FLOAT_TYPES.has(typeName)) return Number(text);
  switch (typeName) {
    case 'bool':
      return text === 't' || text === 'true';
    case 'json':
    case 'jsonb':
      return JSON.parse(text);
    case 'timestamptz':
    case 'timestamp':
      return parseTimestamp(text);
    default:
      // numeric, date ('YYYY-MM-DD'), text, varchar, uuid, name, interval, ...: the text itself
      return text;
  }
}

type ArrayValue = NonNullable<Field['arrayValue']>;

function fromArray(value: ArrayValue, elementType: string): unknown[] {
  if (value.arrayValues) return value.arrayValues.map((v) => (v === null ? null : fromArray(v, elementType)));
  if (value.stringValues)
    return value.stringValues.map((s) => (s === null ? null : fromText(s, elementType)));
  if (value.longValues) {
    return value.longValues.map((n) =>
      n === null ? null : INT8_TYPES.has(elementType) ? parseInt8(String(n)) : n,
    );
  }
  return value.booleanValues ?? value.doubleValues ?? [];
}

/** ExecuteStatement records + columnMetadata as rows keyed by column name. */
export function recordsToRows(
  records: readonly (readonly Field[])[] | undefined,
  columns: readonly ColumnMetadata[] | undefined,
): SqlRow[] {
  if (!records) return [];
  const cols = (columns ?? []).map((c, i) => ({
    name: c.label || c.name || `?column?${i}`,
    type: c.typeName ?? '',
  }));
  return records.map((record) => {
    const row: SqlRow = {};
    record.forEach((field, i) => {
      const col = cols[i] ?? { name: `?column?${i}`, type: '' };
      row[col.name] = fromScalar(field, col.type.toLowerCase());
    });
    return row;
  });
}

/** Service errors a retry may cure: a paused cluster waking up, throttling, timeouts, 5xx. */
const TRANSIENT_SERVICE_ERRORS = new Set([
  'DatabaseResumingException',
  'DatabaseUnavailableException',
  'ServiceUnavailableError',
  'InternalServerErrorException',
  'StatementTimeoutException',
  'TransactionNotFoundException',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

const CONNECTION_MESSAGE =
  /communications link failure|connection (?:is )?closed|connection refused|connection reset|terminating connection|the database is starting up|is resuming after being auto-paused|transaction .* (?:is not|isn't) found/i;

/** `ERROR: <message>\n  Detail: <detail>\n  Position: 15; SQLState: 42P01` → the message, DETAIL and SQLSTATE. */
export function parseSqlStateMessage(text: string): {
  message: string;
  code: string | undefined;
  detail: string | undefined;
} {
  const m = /;\s*SQLState:\s*([0-9A-Z]{5})\s*$/i.exec(text);
  const body = m ? text.slice(0, m.index) : text;
  const first = (body.split('\n')[0] ?? body).replace(/^\s*(?:ERROR|FATAL|PANIC):\s*/, '').trim();
  const detail = /\n\s*Detail:\s?(.*)/.exec(body)?.[1];
  return { message: first || text, code: m?.[1]?.toUpperCase(), detail };
}

/**
 * What the RDS Data API client threw, as the port's errors: connection and resume faults, throttling
 * and timeouts are TransientDatabaseError; SQL errors are DatabaseError with the Postgres message
 * and SQLSTATE (which the service appends to the BadRequestException message).
 */
export function mapDataApiError(error: unknown): TransientDatabaseError | DatabaseError {
  if (error instanceof TransientDatabaseError || error instanceof DatabaseError) return error;
  const e = error as {
    name?: unknown;
    message?: unknown;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  const name = typeof e?.name === 'string' ? e.name : '';
  const text = typeof e?.message === 'string' ? e.message : String(error);
  const status = e?.$metadata?.httpStatusCode;
  if (TRANSIENT_SERVICE_ERRORS.has(name)) {
    return new TransientDatabaseError(`${name}: ${text}`, name, { cause: error });
  }
  if (name === 'BadRequestException' || name === 'DatabaseErrorException') {
    const { message, code, detail } = parseSqlStateMessage(text);
    if (isTransientSqlState(code)) return new TransientDatabaseError(message, code, { cause: error });
    if (!code && CONNECTION_MESSAGE.test(text))
      return new TransientDatabaseError(text, name, { cause: error });
    return new DatabaseError(message, code, { cause: error, detail });
  }
  if (e?.$retryable || status === 429 || (status !== undefined && status >= 500)) {
    return new TransientDatabaseError(`${name || 'Error'}: ${text}`, name || undefined, { cause: error });
  }
  if (status !== undefined) return new DatabaseError(`${name}: ${text}`, undefined, { cause: error });
  // No HTTP response at all: a socket error (ECONNRESET, ...) or something thrown locally.
  return toDatabaseError(error);
}
