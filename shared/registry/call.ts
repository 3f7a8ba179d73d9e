import { DatabaseError } from '../errors';
import type { SqlExecutor, SqlParam } from '../sql/port';
import { mapControlError } from './control';
import { CONTROL_RESULTS, type ControlFunction, type ControlResult } from './results';

/** A control-function argument sent as JSON text and cast to jsonb in the call itself. */
export interface JsonArg {
  readonly json: unknown;
}
export type ControlArg = SqlParam | JsonArg;

export const jsonArg = (json: unknown): JsonArg => ({ json });
const isJsonArg = (a: ControlArg): a is JsonArg => typeof a === 'object' && a !== null && 'json' in a;

/**
 * One call of a control function, `SELECT tenantry.fn($1, $2::jsonb, ...) AS result`: one round
 * trip on every backend. JSON arguments are cast in the statement, because the Data API sends text
 * as varchar and Postgres will not cast varchar to jsonb on its own. Errors come back typed, and
 * the result is parsed with the function's schema (CONTROL_RESULTS): one that does not match is a
 * DatabaseError naming the function and what was wrong.
 */
export async function callControl<F extends ControlFunction>(
  db: SqlExecutor,
  tenantId: string,
  fn: F,
  args: readonly ControlArg[],
): Promise<ControlResult<F>> {
  const placeholders = args.map((a, i) => (isJsonArg(a) ? `$${i + 1}::jsonb` : `$${i + 1}`)).join(', ');
  const params = args.map((a) => (isJsonArg(a) ? JSON.stringify(a.json) : a));
  let result: unknown;
  try {
    const { rows } = await db.query<{ result: unknown }>(
      `SELECT tenantry.${fn}(${placeholders}) AS result`,
      params,
    );
    result = rows[0]?.result;
  } catch (error) {
    throw mapControlError(error, tenantId);
  }
  const parsed = CONTROL_RESULTS[fn].safeParse(result);
  if (!parsed.success)
    throw new DatabaseError(
      `tenantry.${fn} returned ${JSON.stringify(result) ?? 'no row'}, not what callControl expects: ${parsed.error.issues
        .map((i) => `${i.path.join('.') || '(result)'}: ${i.message}`)
        .join('; ')}`,
      undefined,
      { cause: parsed.error },
    );
  return parsed.data as ControlResult<F>;
}
