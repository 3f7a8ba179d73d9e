import { DatabaseError, TransientDatabaseError } from '../errors';

/**
 * SQLSTATE classes and codes after which the same statement may well succeed:
 * connection exceptions (08), serialization failure and deadlock (40001, 40P01), insufficient
 * resources (53), operator intervention (57P01-57P03), lock not available (55P03), and a
 * statement cancelled by statement_timeout (57014).
 */
const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '55P03', '57014', '57P01', '57P02', '57P03']);
const TRANSIENT_SQLSTATE_CLASSES = ['08', '53'];
const TRANSIENT_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

export function isTransientSqlState(code: string | undefined): boolean {
  if (!code) return false;
  return TRANSIENT_SQLSTATES.has(code) || TRANSIENT_SQLSTATE_CLASSES.some((c) => code.startsWith(c));
}

/** Maps whatever a driver threw to the port's two error types. Already-mapped errors pass through. */
export function toDatabaseError(error: unknown): TransientDatabaseError | DatabaseError {
  if (error instanceof TransientDatabaseError || error instanceof DatabaseError) return error;
  const e = error as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  if (code && TRANSIENT_SOCKET_CODES.has(code)) {
    return new TransientDatabaseError(`connection failed: ${message}`, code, { cause: error });
  }
  if (/connection terminated|connection timeout|Connection ended|terminating connection/i.test(message)) {
    return new TransientDatabaseError(message, code, { cause: error });
  }
  if (isTransientSqlState(code)) return new TransientDatabaseError(message, code, { cause: error });
  const sqlState = code && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  const detail =
    typeof (e as { detail?: unknown })?.detail === 'string' ? (e as { detail: string }).detail : undefined;
  return new DatabaseError(message, sqlState, { cause: error, detail });
}
