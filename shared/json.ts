const { rawJSON } = JSON as unknown as { rawJSON(text: string): unknown };

/**
 * JSON.parse that keeps every number exactly as written: a number JavaScript cannot hold as
 * written (a bigint, a 30-digit numeric, 1.50) stays raw JSON text, which JSON.stringify writes
 * back unchanged. Seed values reach Postgres as the text in seed.json; jsonb read as text (a
 * tenant's settings and limits) reaches an API answer as the text Postgres gave.
 */
export function parseJsonExact(text: string): unknown {
  return parseKeepingNumbers(text, (value, source) => String(value) !== source);
}

/** JSON.parse in which a number `keep` picks stays raw JSON text, as written. */
function parseKeepingNumbers(text: string, keep: (value: number, source: string) => boolean): unknown {
  return JSON.parse(text, (_key: string, value: unknown, context?: { source?: string }) =>
    typeof value === 'number' && context?.source !== undefined && keep(value, context.source)
      ? rawJSON(context.source)
      : value,
  );
}

/** jsonb a query read `::text` (so its numbers never pass through a JavaScript number), parsed exactly. */
export function jsonbText<T = unknown>(value: unknown, fallback: T): T {
  if (value === null || value === undefined) return fallback;
  return (typeof value === 'string' ? parseJsonExact(value) : value) as T;
}

/** A number JSON.parse would round, kept as the text it was written as (`JSON.rawJSON`). */
export interface RawJsonNumber {
  readonly rawJSON: string;
}

const { isRawJSON } = JSON as unknown as { isRawJSON(value: unknown): boolean };

/** Whether a value is a number kept as written by parseJsonExact or parseJsonLossless. */
export function isRawJsonNumber(value: unknown): value is RawJsonNumber {
  return isRawJSON(value);
}

/** A number's significant digits, without sign, point, exponent, or leading and trailing zeros. */
function significantDigits(numberText: string): string {
  const mantissa = numberText.replace(/^-/, '').split(/[eE]/)[0] ?? '';
  return mantissa.replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
}

/**
 * JSON.parse for request bodies: a number a double holds exactly is a number (`1.50` is 1.5,
 * `4.0` is 4), and only a number whose digits a double would lose (2^63 - 1, a 30-digit decimal,
 * 1e400) stays raw JSON text, which JSON.stringify writes back unchanged. So a template's limits,
 * settings and initial rows reach the database as they were sent, while the schemas of ordinary
 * numeric fields still see numbers.
 */
export function parseJsonLossless(text: string): unknown {
  return parseKeepingNumbers(
    text,
    (value, source) => significantDigits(source) !== significantDigits(String(value)),
  );
}
