import type { SqlExecutor, SqlParam } from '../sql/port';
import { mapControlError } from './control';

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
 * as varchar and Postgres will not cast varchar to jsonb on its own. Errors come back typed.
 */
export async function callControl<T>(
  db: SqlExecutor,
  tenantId: string,
  fn: string,
  args: readonly ControlArg[],
): Promise<T> {
  const placeholders = args.map((a, i) => (isJsonArg(a) ? `$${i + 1}::jsonb` : `$${i + 1}`)).join(', ');
  const params = args.map((a) => (isJsonArg(a) ? JSON.stringify(a.json) : a));
  try {
    const { rows } = await db.query<{ result: T }>(
      `SELECT tenantry.${fn}(${placeholders}) AS result`,
      params,
    );
    const row = rows[0];
    if (!row) throw new Error(`tenantry.${fn} returned no row`);
    return row.result;
  } catch (error) {
    throw mapControlError(error, tenantId);
  }
}
