const { rawJSON } = JSON as unknown as { rawJSON(text: string): unknown };

/**
 * JSON.parse that keeps every number exactly as written: a number JavaScript cannot hold as
 * written (a bigint, a 30-digit numeric, 1.50) stays raw JSON text, which JSON.stringify writes
 * back unchanged. Seed values reach Postgres as the text in seed.json; jsonb read as text (a
 * tenant's settings and limits) reaches an API answer as the text Postgres gave.
 */
export function parseJsonExact(text: string): unknown {
  return JSON.parse(text, (_key: string, value: unknown, context?: { source?: string }) =>
    typeof value === 'number' && context?.source !== undefined && String(value) !== context.source
      ? rawJSON(context.source)
      : value,
  );
}

/** jsonb a query read `::text` (so its numbers never pass through a JavaScript number), parsed exactly. */
export function jsonbText<T = unknown>(value: unknown, fallback: T): T {
  if (value === null || value === undefined) return fallback;
  return (typeof value === 'string' ? parseJsonExact(value) : value) as T;
}
