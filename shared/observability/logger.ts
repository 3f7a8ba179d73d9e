import { AsyncLocalStorage } from 'node:async_hooks';
import type { LogItem } from '@aws-lambda-powertools/logger';
import { Logger } from '@aws-lambda-powertools/logger';
import type {
  ConstructorOptions,
  LogAttributes,
  LogItemExtraInput,
  LogItemMessage,
} from '@aws-lambda-powertools/logger/types';

/**
 * The one logger of every handler and of the local engine: Powertools for AWS Lambda's Logger.
 *
 * - On Lambda it writes Powertools' structured JSON (level, message, timestamp, service, cold
 *   start, function and request id from `injectLambdaContext`, the X-Ray trace id) at the level
 *   `POWERTOOLS_LOG_LEVEL` or the function's log level sets.
 * - Elsewhere (the local engine, the local server, the CLI, tests) it writes one readable line per
 *   entry to stderr, or the same JSON with `TENANTRY_LOG_FORMAT=json`, at the level
 *   `TENANTRY_LOG_LEVEL` sets when the entry is written: debug | info | warn | error | silent
 *   (default info; the CLI and the benches default to silent).
 * - Every entry carries the fields of the run it belongs to (`withLogContext`: the execution id,
 *   the tenant id, the workflow and the step), also when runs share one process, as they do in the
 *   local engine.
 * - Secrets never reach a line: any key naming a password, a secret, a token or a credential, and
 *   any string shaped like a password hash, is written as `[redacted]`.
 */

/** What correlates an entry with a run; set per invocation by the step and route middleware. */
export interface LogContext {
  readonly executionId?: string;
  readonly tenantId?: string;
  readonly rolloutId?: string;
  readonly workflow?: string;
  readonly step?: string;
  readonly route?: string;
  readonly requestId?: string;
}

const context = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with these fields on every entry it logs (merged over any outer context). */
export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  return context.run({ ...context.getStore(), ...fields }, fn);
}

/** The fields `withLogContext` set for the current call, if any. */
export function logContext(): LogContext {
  return context.getStore() ?? {};
}

/** Whether this process is a Lambda function (the runtime sets its name), not the local engine. */
export const onLambda = (): boolean => process.env.AWS_LAMBDA_FUNCTION_NAME !== undefined;

const SECRET_KEY = /pass(word)?|secret(?!arn)|token|credential|authorization|api_?key/i;
/** A password hash as shared/templates/password.ts writes it, or the usual crypt(3) shapes. */
const HASH_VALUE = /^(scrypt\$\d+\$|\$(2[aby]|argon2(id|i|d)|scrypt|pbkdf2[-\w]*)\$)/;
export const REDACTED = '[redacted]';

/** The JSON replacer of every entry: redacts secrets, writes bigints as text. */
export function redact(key: string, value: unknown): unknown {
  if (value === undefined || value === null) return value;
  if (key !== '' && SECRET_KEY.test(key) && typeof value !== 'boolean') return REDACTED;
  if (typeof value === 'string' && HASH_VALUE.test(value)) return REDACTED;
  if (typeof value === 'bigint') return value.toString();
  return value;
}

const LOCAL_LEVELS: Record<string, number> = {
  trace: 6,
  debug: 8,
  info: 12,
  warn: 16,
  error: 20,
  critical: 24,
};

function localThreshold(): number {
  const configured = (process.env.TENANTRY_LOG_LEVEL ?? 'info').toLowerCase();
  if (configured === 'silent') return Number.POSITIVE_INFINITY;
  return LOCAL_LEVELS[configured] ?? LOCAL_LEVELS.info ?? 12;
}

/** Powertools' attributes a person reading a terminal does not need on every line. */
const TERSE = new Set(['level', 'message', 'timestamp', 'service', 'sampling_rate']);

function readableLine(attributes: LogAttributes): string {
  const time = String(attributes.timestamp ?? new Date().toISOString()).slice(11, 23);
  const level = String(attributes.level ?? 'INFO').padEnd(5);
  const fields = Object.entries(attributes)
    .filter(([key, value]) => !TERSE.has(key) && value !== undefined)
    .map(([key, value]) => {
      const text = JSON.stringify(value, redact);
      return `${key}=${typeof value === 'string' && /^[^\s"=]+$/.test(value) ? value : text}`;
    });
  return [time, level, attributes.message, ...fields].join(' ');
}

export class TenantryLogger extends Logger {
  protected override processLogItem(
    logLevel: number,
    input: LogItemMessage,
    extraInput: LogItemExtraInput,
  ): void {
    if (!onLambda() && logLevel < localThreshold()) return;
    const fields = context.getStore();
    // Powertools merges each extra item in turn (an error under `error`, a string under `extra`).
    const extra = fields ? ([{ ...fields }, ...extraInput] as unknown as LogItemExtraInput) : extraInput;
    super.processLogItem(logLevel, input, extra);
  }

  protected override printLog(logLevel: number, log: LogItem): void {
    if (onLambda()) {
      super.printLog(logLevel, log);
      return;
    }
    log.prepareForPrint();
    const attributes = log.getAttributes();
    const line =
      process.env.TENANTRY_LOG_FORMAT === 'json'
        ? JSON.stringify(attributes, redact)
        : readableLine(JSON.parse(JSON.stringify(attributes, redact)) as LogAttributes);
    // The console, not a stream of its own, so the CLI's output and a test's spy see it.
    console.error(line);
  }

  protected override createLogger(options?: ConstructorOptions): Logger {
    return new TenantryLogger(options);
  }
}

export const logger = new TenantryLogger({
  serviceName: 'tenantry',
  // Locally every entry reaches processLogItem, which applies TENANTRY_LOG_LEVEL as it is then.
  ...(onLambda() ? {} : { logLevel: 'TRACE' as const }),
  jsonReplacerFn: redact,
});
