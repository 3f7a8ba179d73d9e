import { ValidationError } from './errors';

/** Postgres truncates identifiers longer than NAMEDATALEN - 1 bytes. We refuse them instead. */
export const MAX_IDENTIFIER_BYTES = 63;

/**
 * Validates a Postgres identifier and returns it double-quoted. This is the only way an
 * identifier reaches SQL in Tenantry: callers never interpolate a name themselves.
 */
export function quoteIdent(name: string): string {
  assertIdentifier(name);
  return `"${name.replaceAll('"', '""')}"`;
}

/** `schema.name`, both parts validated and quoted. */
export function qualify(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

export function assertIdentifier(name: string, field = 'identifier'): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ValidationError([{ field, reason: 'must be a non-empty string' }]);
  }
  if (name.includes('\u0000')) {
    throw new ValidationError([{ field, reason: 'must not contain NUL characters' }]);
  }
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_IDENTIFIER_BYTES) {
    throw new ValidationError([
      {
        field,
        reason: `'${name}' is ${bytes} bytes; Postgres identifiers hold at most ${MAX_IDENTIFIER_BYTES}`,
      },
    ]);
  }
}

/** Quotes a string as a SQL literal (standard_conforming_strings on). For DDL that takes no parameters. */
export function quoteLiteral(value: string): string {
  if (value.includes('\u0000')) {
    throw new ValidationError([{ field: 'literal', reason: 'must not contain NUL characters' }]);
  }
  return `'${value.replaceAll("'", "''")}'`;
}
